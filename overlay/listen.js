// Listen: this page captures the call for the coach (`turnaround live --browser`).
//
// The microphone is the user; the call's tab (or screen, with its audio) is the other
// side. Both go through one 16 kHz AudioContext and a capture worklet each
// (worklet.js), and out as binary websocket frames: a 16-byte header (magic "A",
// version 1, channel 0 mic / 1 call, flags bit 0 = first frame, uint32 sequence,
// float64 capture time in epoch ms) and 512 int16 samples. docs/browser-capture.md
// has the details; assistant/server/audio_frames.py reads them.
//
// The server says whether this run captures from the page at all, and which page
// holds the capture ("capture" messages); a page that reconnects takes its capture
// back with the same page id. Audio captured while disconnected is dropped, counted
// and reported: a reconnect loses the gap and nothing else.

import { speakerName } from "./util.js";

const MAGIC = 0x41;
const VERSION = 1;
const HEADER_BYTES = 16;
const FLAG_FIRST = 1;
const CHANNEL = { mic: 0, call: 1 };
const RATE_HZ = 16000;
// The context's audio thread wakes once per this much audio (s), not every 8 ms
// (Chromium's "interactive" default): on 2 loaded cores headless Chromium spent
// ~8 % of a core on our capture with the default and ~4 % with 40 ms, for frames
// that arrive in 40 ms bursts (p95 page -> coach 40-60 ms instead of 10-50 ms;
// docs/browser-capture.md). Captions wait far longer than that for the speech to end.
const CONTEXT_LATENCY_S = 0.04;
const FRAME_MS = (512 / RATE_HZ) * 1000;
// The browser's voice processing would change what the coach hears; it gets the raw input.
const RAW = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
// The level meters are redrawn this often (a person cannot read them faster).
const METER_MS = 100;
// The context clock is mapped onto the page clock by the smallest delay seen in
// the last window or two (clocks drift apart slowly; a window keeps up with that).
const OFFSET_WINDOW_MS = 10000;
// The meters' range: below -60 dBFS is silence to the eye.
const METER_FLOOR_DB = -60;
// Audio captured before the coach first answers Listen is kept, up to this much per
// input, and sent then: the first words are said while the session starts. After a
// reconnect it is not: the coach has counted that time as silence already.
const EARLY_FRAMES = Math.ceil(2000 / FRAME_MS);

const WORDS = {
  mic: {
    denied: "Microphone permission was refused: allow it in the address bar, then Listen again.",
    ended: "The microphone stopped (unplugged or turned off).",
    failed: "The browser could not start the microphone.",
    unavailable: "No microphone is available to this page.",
  },
  call: {
    denied: "Sharing the call was cancelled or refused: press Listen again to share its tab.",
    ended: "Call audio stopped: the shared tab was closed or sharing stopped.",
    failed: "The browser could not capture the call's audio.",
    unavailable: "The shared tab or screen has no audio: share again and tick “Share tab audio”.",
  },
};

// The same, in the status line's few words (it stays; a notice goes after a while).
const SHORT = {
  mic: { denied: "mic refused", ended: "mic stopped", failed: "mic failed", unavailable: "no mic" },
  call: {
    denied: "call not shared",
    ended: "call sharing stopped",
    failed: "call capture failed",
    unavailable: "call has no audio",
  },
};

function stateOf(err) {
  if (err && err.name === "NotAllowedError") return "denied";
  if (err && (err.name === "NotFoundError" || err.name === "OverconstrainedError")) return "unavailable";
  return "failed";
}

/** A promise that never rejects: {stream} or {error}. Attached at once, so a refusal
 * that comes before it is awaited is not an "unhandled rejection". */
function settle(promise) {
  return promise.then((stream) => ({ stream }), (error) => ({ error }));
}

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Listener {
  constructor({ connection, root, notice, onChange }) {
    this.connection = connection;
    this.root = root;
    this.notice = notice;
    this.onChange = onChange || (() => {});
    this.button = root.querySelector("#listen");
    this.text = root.querySelector(".capture-text");
    this.pageId = randomId();
    this.server = null; // the latest "capture" message; null: not a --browser run
    this.owner = false;
    this.claiming = false;
    this.routes = {};
    this.ctx = null;
    this.module = null;
    this.offset = { min: Infinity, prev: Infinity, since: 0 };
    this.lostMs = 0;
    this.wasOwner = false; // held the capture before: a new ack is a reconnect
    this.event = ""; // the latest loss or reconnect, kept in the status line
    this.lastDetail = "";
    this.early = []; // [name, input, pcm, captureMs] before the first ack
    this.inputs = { mic: { state: "off" }, call: { state: "off" } };
    this.button.addEventListener("click", () => this.listen());
    setInterval(() => this.drawMeters(), METER_MS);
  }

  get ready() {
    return this.server !== null && !this.live().length && !this.server.busy;
  }

  live() {
    return Object.keys(this.inputs).filter((name) => this.inputs[name].state === "live");
  }

  wanted(name) {
    const decided = Object.keys(this.routes).length > 0;
    return this.inputs[name].state !== "live" && (!decided || this.routes[name] != null);
  }

  send(message) {
    return this.connection.send(message);
  }

  // -- server messages ------------------------------------------------------------

  onCapture(msg) {
    this.server = msg;
    this.owner = msg.owner;
    if (msg.routes && Object.keys(msg.routes).length) this.routes = msg.routes;
    // Back on a new connection while capturing: take the capture back.
    if (!msg.owner && this.live().length && !this.claiming) this.claim();
    this.render();
  }

  onAck(msg) {
    this.claiming = false;
    this.owner = true;
    this.routes = (msg.detail && msg.detail.routes) || this.routes;
    for (const name of this.live()) {
      if (this.routes[name] == null) {
        this.stopInput(name, "off");
        this.notice(`This session started without the ${name === "call" ? "call's audio" : "microphone"}; restart turnaround to add it.`);
      }
    }
    for (const input of Object.values(this.inputs)) input.first = true;
    if (this.wasOwner && this.lostMs > 0) {
      this.event = `reconnected: ${(this.lostMs / 1000).toFixed(1)} s of audio lost`;
    }
    this.lostMs = 0;
    this.wasOwner = true;
    for (const [name, input, pcm, captureMs] of this.early.splice(0)) {
      if (this.inputs[name] === input) this.sendFrame(name, input, pcm, captureMs);
    }
    this.render();
  }

  /** True when the error was about capture (and has been shown). */
  onError(msg) {
    if (msg.code === "not_capturing") return true; // follows a refused listen
    if (msg.code !== "capture_busy") return false;
    this.claiming = false;
    for (const name of this.live()) this.stopInput(name, "off");
    this.notice(msg.message);
    this.render();
    return true;
  }

  onOpen(ws) {
    ws.addEventListener("close", (event) => {
      this.owner = false;
      this.claiming = false;
      if (event.code >= 1007 && event.code <= 1009 && event.reason) {
        this.notice(`The coach closed the connection: ${event.reason}`);
      }
      this.render();
    });
  }

  claim() {
    this.claiming = this.send({
      type: "listen",
      page: this.pageId,
      mic: this.inputs.mic.state === "live",
      call: this.inputs.call.state === "live",
    });
  }

  // -- capture ----------------------------------------------------------------------

  async listen() {
    if (!navigator.mediaDevices || !window.isSecureContext) {
      this.notice("This browser only captures audio on a secure address: open the overlay at http://127.0.0.1 on this machine.");
      return;
    }
    if (this.server && this.server.busy) {
      this.notice("Another page is already listening: close it first.");
      return;
    }
    this.button.disabled = true;
    // The context and the screen picker need this click's user activation: both
    // start before anything is awaited.
    this.ctx = this.ctx || new AudioContext({ sampleRate: RATE_HZ, latencyHint: CONTEXT_LATENCY_S });
    if (this.ctx.state === "suspended") this.ctx.resume();
    this.module = this.module || this.ctx.audioWorklet.addModule("worklet.js");
    const asked = [];
    const tab = this.wanted("call")
      ? settle(navigator.mediaDevices.getDisplayMedia({
          audio: RAW,
          video: true, // required; the video track is stopped at once
          systemAudio: "include",
          selfBrowserSurface: "exclude",
          surfaceSwitching: "include",
        }))
      : null;
    try {
      await this.module;
      if (tab) asked.push(await this.request("call", tab));
      if (this.wanted("mic")) {
        const mic = settle(navigator.mediaDevices.getUserMedia({ audio: RAW }));
        asked.push(await this.request("mic", mic));
      }
    } catch (err) {
      this.notice(`Could not start capturing: ${err.message || err}`);
    } finally {
      this.button.disabled = false;
    }
    if (this.live().length) this.claim();
    for (const [name, state, reason] of asked) {
      if (state !== "live" && this.live().length) {
        this.send({ type: "input", input: name, state, reason });
      }
    }
    this.render();
  }

  /** One input's request: [name, state, reason]; a live one is started. */
  async request(name, pending) {
    const { stream, error } = await pending;
    if (error) {
      const state = stateOf(error);
      this.inputs[name] = { state };
      this.notice(WORDS[name][state]);
      return [name, state, (error && error.name) || ""];
    }
    for (const track of stream.getVideoTracks()) track.stop(); // the audio is all we take
    const track = stream.getAudioTracks()[0];
    if (!track) {
      this.inputs[name] = { state: "unavailable" };
      this.notice(WORDS[name].unavailable);
      return [name, "unavailable", "NoAudioTrack"];
    }
    this.startInput(name, track);
    return [name, "live", ""];
  }

  startInput(name, track) {
    const source = this.ctx.createMediaStreamSource(new MediaStream([track]));
    const node = new AudioWorkletNode(this.ctx, "turnaround-capture", {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCount: 1,
      channelCountMode: "explicit",
    });
    const input = { state: "live", track, source, node, seq: 0, first: true, level: 0, lost: 0 };
    this.inputs[name] = input;
    node.port.onmessage = (event) => this.onFrame(name, input, event.data);
    source.connect(node).connect(this.ctx.destination);
    track.addEventListener("ended", () => this.ended(name, input));
  }

  stopInput(name, state) {
    const input = this.inputs[name];
    if (input.track) input.track.stop();
    if (input.source) input.source.disconnect();
    if (input.node) input.node.disconnect();
    this.inputs[name] = { state };
  }

  ended(name, input) {
    if (this.inputs[name] !== input) return; // replaced since
    this.stopInput(name, "ended");
    this.notice(WORDS[name].ended + (this.live().length ? " Coaching goes on with the rest." : ""));
    if (this.owner) this.send({ type: "input", input: name, state: "ended", reason: "" });
    this.render();
  }

  /** Context time (s) -> epoch ms, by the smallest context-to-main-thread delay seen. */
  captureMs(end) {
    const now = performance.now();
    const o = this.offset;
    if (now - o.since > OFFSET_WINDOW_MS) Object.assign(o, { prev: o.min, min: Infinity, since: now });
    o.min = Math.min(o.min, now - end * 1000);
    return performance.timeOrigin + end * 1000 + Math.min(o.min, o.prev);
  }

  onFrame(name, input, { pcm, end, peak }) {
    if (this.inputs[name] !== input) return;
    const captureMs = this.captureMs(end);
    input.level = Math.max(input.level, peak);
    const ws = this.connection.ws;
    if (!this.owner || !ws || ws.readyState !== WebSocket.OPEN || this.routes[name] == null) {
      if (!this.wasOwner) {
        this.early.push([name, input, pcm, captureMs]);
        if (this.early.length > 2 * EARLY_FRAMES) this.early.shift(); // both inputs
      } else if (name === this.live()[0]) {
        this.lostMs += FRAME_MS; // not sent: lost
      }
      return;
    }
    this.sendFrame(name, input, pcm, captureMs);
  }

  sendFrame(name, input, pcm, captureMs) {
    const frame = new ArrayBuffer(HEADER_BYTES + pcm.byteLength);
    const view = new DataView(frame);
    view.setUint8(0, MAGIC);
    view.setUint8(1, VERSION);
    view.setUint8(2, CHANNEL[name]);
    view.setUint8(3, input.first ? FLAG_FIRST : 0);
    view.setUint32(4, input.seq, true);
    view.setFloat64(8, captureMs, true);
    new Uint8Array(frame, HEADER_BYTES).set(new Uint8Array(pcm));
    this.connection.ws.send(frame);
    input.seq = (input.seq + 1) >>> 0;
    input.first = false;
  }

  // -- what the page shows --------------------------------------------------------

  drawMeters() {
    for (const [name, input] of Object.entries(this.inputs)) {
      const el = this.root.querySelector(`#in-${name}`);
      const db = input.level > 0 ? 20 * Math.log10(input.level) : METER_FLOOR_DB;
      const pct = Math.max(0, Math.min(100, (100 * (db - METER_FLOOR_DB)) / -METER_FLOOR_DB));
      el.querySelector(".level").style.width = `${pct.toFixed(0)}%`;
      input.level = 0;
    }
  }

  render() {
    this.root.hidden = this.server === null;
    if (this.server === null) return;
    for (const [name, input] of Object.entries(this.inputs)) {
      const el = this.root.querySelector(`#in-${name}`);
      el.dataset.state = input.state;
      const who = this.routes[name] ? ` (${speakerName(this.routes[name])})` : "";
      el.title = `${name === "mic" ? "Microphone" : "Call"}: ${input.state}${who}${input.track ? ` · ${input.track.label}` : ""}`;
    }
    const live = this.live();
    const missing = ["call", "mic"].filter((name) => this.wanted(name));
    this.button.hidden = this.server.busy || missing.length === 0;
    this.button.textContent = !live.length ? "Listen" : missing[0] === "call" ? "Share call" : "Add mic";
    let text;
    if (this.server.busy && !this.owner) text = "Another page is listening.";
    else if (!live.length) text = "Press Listen, then pick the call's tab to share.";
    else text = "Listening: " + live.map((n) => `${n}${this.routes[n] ? ` (${speakerName(this.routes[n])})` : ""}`).join(" + ");
    const detail = this.server.detail || "";
    if (detail !== this.lastDetail) {
      this.lastDetail = detail;
      if (/reconnected|disconnected/.test(detail)) this.event = detail;
    }
    const problems = Object.entries(this.inputs)
      .map(([name, input]) => SHORT[name][input.state])
      .filter(Boolean);
    this.text.textContent = [text, ...problems, this.event].filter(Boolean).join(" · ");
    this.onChange();
  }
}
