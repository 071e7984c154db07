/** The error of the sync's HTTP client (`http-get.ts`, `http-connect.ts`). */
export class HttpGetError extends Error {
  constructor(
    message: string,
    /**
     * `closed`: the peer closed; `timeout`: the socket was idle too long; `protocol`: a malformed
     * answer; `proxy-refused`: the proxy answered CONNECT with an error; else the socket error's code.
     * `message` says what happened, without the URL (callers add it).
     */
    readonly code: string,
  ) {
    super(message);
  }
}
