// Turnaround's capture worklet: one node per input (microphone, call), on the audio
// thread. The AudioContext runs at 16 kHz, so the browser has already resampled the
// input and the node's explicit mono input has mixed its channels down. Every 512
// samples (32 ms, four render quanta) it posts one frame: int16 PCM, the context
// time just after the frame's last sample, and the frame's peak level for the meter.
// Its output stays silent: the node is connected to the destination only so that
// the graph keeps pulling it, and nothing captured is ever played back.
//
// Served from the overlay's own origin: the page's Content-Security-Policy
// (script-src 'self') blocks a blob: worklet.

const FRAME_SAMPLES = 512;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
    this.peak = 0;
  }

  process(inputs) {
    const input = inputs[0];
    // No channels: the track ended or is not connected yet; nothing to send.
    if (!input || input.length === 0) return true;
    const samples = input[0];
    for (let i = 0; i < samples.length; i++) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      this.frame[this.filled++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      const level = s < 0 ? -s : s;
      if (level > this.peak) this.peak = level;
      if (this.filled === FRAME_SAMPLES) {
        const pcm = this.frame.buffer;
        // currentTime is the context time of this quantum's first sample.
        const end = currentTime + (i + 1) / sampleRate;
        this.port.postMessage({ pcm, end, peak: this.peak }, [pcm]);
        this.frame = new Int16Array(FRAME_SAMPLES);
        this.filled = 0;
        this.peak = 0;
      }
    }
    return true;
  }
}

registerProcessor("turnaround-capture", CaptureProcessor);
