// The websocket to the Turnaround server, with automatic reconnect and backoff.
//
// States reported to onState: "connecting", "open", "retrying" (with the delay),
// "refused" (the token is wrong: retrying cannot help, so it stops).


// Backoff: quick first retries (a server restart takes a second or two), doubling
// up to a few seconds so a stopped server is not hammered; jitter spreads pages.
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 5000;
const JITTER = 0.2;

export class Connection {
  constructor({ onMessage, onState }) {
    this.onMessage = onMessage;
    this.onState = onState;
    this.ws = null;
    // The server's protocol version, from its snapshot: the server is the one place
    // the version is written down, and the page speaks what it says.
    this.version = null;
    this.attempt = 0;
    this.timer = null;
    const token = new URLSearchParams(location.search).get("token");
    this.query = token ? `?token=${encodeURIComponent(token)}` : "";
  }

  get url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}/ws${this.query}`;
  }

  connect() {
    clearTimeout(this.timer);
    this.onState("connecting", { attempt: this.attempt });
    let opened = false;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.onState("open", {});
    };
    ws.onmessage = (event) => {
      const receivedAt = performance.now();
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return; // the server only sends JSON; ignore anything else
      }
      this.onMessage(msg, receivedAt);
    };
    ws.onclose = async (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!opened && (await this.tokenRefused())) {
        this.onState("refused", {});
        return;
      }
      this.retry(event.code);
    };
  }

  retry(code) {
    const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.attempt);
    const delay = Math.round(base * (1 + JITTER * (2 * Math.random() - 1)));
    this.attempt += 1;
    this.onState("retrying", { delay, code });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  // A failed handshake does not say why; ask the server whether the token is the
  // problem so the page can say so instead of retrying forever.
  async tokenRefused() {
    try {
      const response = await fetch(`/auth${this.query}`, { cache: "no-store" });
      return response.status === 403;
    } catch {
      return false; // server down: keep retrying
    }
  }

  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || this.version === null) return false;
    this.ws.send(JSON.stringify({ v: this.version, ...message }));
    return true;
  }
}
