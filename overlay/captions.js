// Live captions: committed words solid, words still being heard greyed, speaker
// labels. A long turn commits in pieces, so one line can be partly of each.
//
// The newest line sits at the bottom; older ones go up and, when the box is short
// (cards above take the room), off: only lines that fit whole are shown, so the top
// one is never sliced in half under the cards.

import { el, speakerName } from "./util.js";

// A few lines are enough to follow the call at a glance; the cards are the point.
const MAX_LINES = 6;

export class Captions {
  constructor(root) {
    this.root = root;
    this.observer = null;
    this.observedDoc = null;
  }

  reset(captions) {
    this.root.replaceChildren();
    for (const caption of captions) this.add(caption);
  }

  /** Show only the lines that fit whole, newest first; refit when the box resizes
   * (a card comes or goes, the window or the pop out is resized). */
  fit() {
    this.watch();
    const lines = [...this.root.querySelectorAll(".cap")];
    for (const line of lines) line.classList.remove("clipped");
    if (this.root.hidden || !lines.length) return;
    const win = this.root.ownerDocument.defaultView || window;
    const top = this.root.getBoundingClientRect().top + parseFloat(win.getComputedStyle(this.root).paddingTop);
    // The newest line always shows (in a box too short for it, its last words are
    // the ones that matter); older ones only whole. Half a pixel is rounding.
    let cut = false;
    for (let i = lines.length - 2; i >= 0; i -= 1) {
      cut = cut || lines[i].getBoundingClientRect().top < top - 0.5;
      if (cut) lines[i].classList.add("clipped");
    }
  }

  // One observer per document: after "pop out" the box lives in the picture-in-
  // picture window, whose resizes only its own ResizeObserver sees.
  watch() {
    const doc = this.root.ownerDocument;
    const Observer = doc.defaultView && doc.defaultView.ResizeObserver;
    if (this.observedDoc === doc || !Observer) return;
    if (this.observer) this.observer.disconnect();
    this.observer = new Observer(() => this.fit());
    this.observer.observe(this.root);
    this.observedDoc = doc;
  }

  /** Add or update a caption line; returns the line's node (null: none shown). A
   * final caption replaces the line of the same utterance, final or not: an
   * utterance that came in pieces ends with its revision, one decode of all of it. */
  add(caption) {
    const doc = this.root.ownerDocument;
    let line = this.root.querySelector(`.cap[data-id="${CSS.escape(caption.id)}"]`);
    if (line?.classList.contains("final") && !caption.final) return line; // late partial
    const speaker = String(caption.speaker);
    const text = String(caption.text);
    if (caption.final && !text.trim()) {
      // The revision found no words after all: the line goes.
      line?.remove();
      this.fit();
      return null;
    }
    // Committed text never changes, so a late caption must not shorten it.
    const stable = caption.final ? text.length : Math.min(text.length, Number(caption.stable) || 0);
    const fresh = el(
      doc,
      "div",
      { class: `cap ${caption.final ? "final" : "partial"} spk-${speaker}`, "data-id": caption.id },
      el(doc, "span", { class: "who" }, speakerName(speaker)),
      el(doc, "span", { class: "text" },
        el(doc, "span", { class: "stable" }, text.slice(0, stable)),
        el(doc, "span", { class: "heard" }, text.slice(stable)),
      ),
    );
    if (line) line.replaceWith(fresh);
    else this.root.append(fresh);
    line = fresh;
    const lines = this.root.querySelectorAll(".cap");
    for (let i = 0; i < lines.length - MAX_LINES; i += 1) lines[i].remove();
    this.fit();
    return line;
  }
}
