//! Broker and topic configuration (being written).
