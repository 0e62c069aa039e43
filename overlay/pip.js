// "Pop out": move the overlay into a Document Picture-in-Picture window, which
// Chromium keeps on top of every other window (the video-call app included).
// The same DOM nodes move, so the connection and state carry on untouched.

const PIP_SIZE = { width: 360, height: 480 };

export function pipSupported() {
  return "documentPictureInPicture" in window;
}

export function isPoppedOut(app) {
  return app.ownerDocument !== document;
}

/**
 * Move `app` into a PiP window; when that window closes, move it back.
 * `onKeydown` is attached to the PiP document too (shortcuts keep working there).
 * Must be called from a user gesture (a click or a key press).
 */
export async function popOut(app, { onKeydown, placeholder }) {
  if (!pipSupported()) throw new Error("Pop out needs Chrome or Edge 116 or newer");
  if (isPoppedOut(app)) {
    app.ownerDocument.defaultView.close();
    return;
  }
  const pip = await window.documentPictureInPicture.requestWindow(PIP_SIZE);
  for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
    const copy = pip.document.createElement("link");
    copy.rel = "stylesheet";
    copy.href = link.href;
    pip.document.head.append(copy);
  }
  pip.document.title = document.title;
  pip.document.documentElement.lang = document.documentElement.lang;
  pip.document.body.classList.add("in-pip");
  pip.document.body.append(app);
  placeholder.hidden = false;
  pip.document.addEventListener("keydown", onKeydown);
  pip.addEventListener("pagehide", () => {
    placeholder.hidden = true;
    document.body.prepend(app);
  });
}
