//! A minimal Kafka client over one TCP connection: frames requests with
//! `encode_request`, reads length-prefixed responses and decodes them with
//! `decode_response`. It checks correlation ids but nothing else, so tests
//! see exactly what the broker sent.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use strom_protocol::frame::{decode_response, encode_request};
use strom_protocol::messages::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::SAFETY_TIMEOUT;

/// A response body type and the API it answers.
pub trait ApiResponse: Sized {
    const KEY: ApiKey;
    fn from_response(response: Response) -> Option<Self>;
}

macro_rules! api_responses {
    ($($variant:ident => $ty:ty),* $(,)?) => {$(
        impl ApiResponse for $ty {
            const KEY: ApiKey = ApiKey::$variant;
            fn from_response(response: Response) -> Option<Self> {
                match response {
                    Response::$variant(body) => Some(body),
                    _ => None,
                }
            }
        }
    )*};
}

api_responses! {
    ApiVersions => ApiVersionsResponse,
    Metadata => MetadataResponse,
    Produce => ProduceResponse,
    Fetch => FetchResponse,
    ListOffsets => ListOffsetsResponse,
    OffsetForLeaderEpoch => OffsetForLeaderEpochResponse,
    DescribeTopicPartitions => DescribeTopicPartitionsResponse,
    ElectLeaders => ElectLeadersResponse,
    DescribeQuorum => DescribeQuorumResponse,
    AlterPartitionReassignments => AlterPartitionReassignmentsResponse,
    InitProducerId => InitProducerIdResponse,
    CreateTopics => CreateTopicsResponse,
    DeleteTopics => DeleteTopicsResponse,
    CreatePartitions => CreatePartitionsResponse,
    DeleteRecords => DeleteRecordsResponse,
    DescribeConfigs => DescribeConfigsResponse,
    AlterConfigs => AlterConfigsResponse,
    IncrementalAlterConfigs => IncrementalAlterConfigsResponse,
    DescribeLogDirs => DescribeLogDirsResponse,
    DescribeCluster => DescribeClusterResponse,
}

pub struct Client {
    stream: TcpStream,
    next_correlation_id: i32,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = tokio::time::timeout(SAFETY_TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect to the broker");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream,
            next_correlation_id: 1,
        }
    }

    /// Sends a request at `version`; returns its correlation id.
    pub async fn send(&mut self, version: i16, request: impl Into<Request>) -> i32 {
        let request = request.into();
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        let header = RequestHeader {
            request_api_key: request.api_key() as i16,
            request_api_version: version,
            correlation_id,
            client_id: Some("strom-broker-tests".into()),
            ..Default::default()
        };
        let mut frame = BytesMut::new();
        encode_request(&header, &request, &mut frame).expect("request encodes");
        self.write_raw(&frame).await;
        correlation_id
    }

    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write to broker");
    }

    /// The next response frame (without its length prefix), or `None`
    /// when the broker closed the connection.
    pub async fn read_frame(&mut self) -> Option<Bytes> {
        tokio::time::timeout(SAFETY_TIMEOUT, async {
            let mut prefix = [0u8; 4];
            self.stream.read_exact(&mut prefix).await.ok()?;
            let len = usize::try_from(i32::from_be_bytes(prefix)).expect("sane length");
            let mut frame = vec![0u8; len];
            self.stream.read_exact(&mut frame).await.ok()?;
            Some(Bytes::from(frame))
        })
        .await
        .expect("broker answered or closed in time")
    }

    /// Reads one response of type `T` at `version`; returns its
    /// correlation id and body.
    pub async fn receive<T: ApiResponse>(&mut self, version: i16) -> (i32, T) {
        let frame = self
            .read_frame()
            .await
            .expect("a response, not a closed connection");
        let (header, body) = decode_response(frame, T::KEY, version).expect("response decodes");
        let body = T::from_response(body).expect("response of the requested API");
        (header.correlation_id, body)
    }

    /// Sends a request and reads its response, checking the correlation id.
    pub async fn call<T: ApiResponse>(&mut self, version: i16, request: impl Into<Request>) -> T {
        let request = request.into();
        assert_eq!(
            request.api_key(),
            T::KEY,
            "response type matches the request"
        );
        let sent = self.send(version, request).await;
        let (received, body) = self.receive::<T>(version).await;
        assert_eq!(received, sent, "correlation id of the response");
        body
    }

    /// True once the broker has closed the connection: reads until EOF
    /// (or a reset), failing if the broker sends a response instead.
    pub async fn is_closed_by_broker(&mut self) -> bool {
        let mut buf = [0u8; 1024];
        let outcome = tokio::time::timeout(SAFETY_TIMEOUT, self.stream.read(&mut buf)).await;
        match outcome {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(n)) => panic!("broker sent {n} bytes instead of closing"),
            Err(_) => false,
        }
    }

    /// Half-closes the connection: the broker sees EOF.
    pub async fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown().await;
    }
}
