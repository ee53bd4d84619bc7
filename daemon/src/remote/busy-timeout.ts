/**
 * A push or pull whose channel is not ready after DEFAULT_CONNECT_TIMEOUT_MS, to a port that
 * still accepts TCP connections, waits for blitd up to this long: its kernel completes the
 * connection while blitd itself is too busy to answer (many transfers at once on a small
 * machine). It failed at 5 s until 2026-11-21 (DEVLOG hunt-load). The price: a port held by a
 * service that accepts and never answers (not blitd) fails after this, not after 5 s. Also the
 * longest wait for a data stream's accept byte (dataplane.ts dataConnectTiming). Its own file:
 * the data-stream workers load dataplane.ts and not gRPC (grpc-client.ts).
 */
export const DEFAULT_BUSY_TIMEOUT_MS = 30_000;
