// Type declarations of `strom/testing`: a real Strom broker for tests.

export interface StartBrokerOptions {
  /**
   * Broker settings by Kafka's names (`num.partitions`, ...), over TEST_SETTINGS.
   * `listeners` (e.g. "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0") replaces
   * the one PLAINTEXT listener on a free port.
   */
  settings?: Record<string, string>
  /** How long to wait for the broker to serve, ms (default 30000). */
  readyTimeoutMs?: number
}

export interface TestBroker {
  /** ["127.0.0.1:port"] of the first listener: pass as `new Kafka({ brokers })`. */
  brokers: string[]
  /** Every listener's address by name, e.g. { PLAINTEXT: "127.0.0.1:p", SASL_SSL: "127.0.0.1:q" }. */
  listeners: Record<string, string>
  /** The broker's temporary data dir, removed by stop(). */
  dataDir: string
  /** Ends the broker and removes its data dir; safe to call more than once. */
  stop(): Promise<void>
}

/** Starts a broker on a free port of 127.0.0.1 in a temporary data dir. */
export function startBroker(options?: StartBrokerOptions): Promise<TestBroker>

/** The settings every test broker gets: quick rebalances, short sessions allowed. */
export const TEST_SETTINGS: Readonly<Record<string, string>>
