() => {
  // Pause and Stop freeze the live picture at the click, before the server has heard of it: frames
  // already on their way would otherwise keep drawing for a round trip (0.3-0.6 s on a busy machine).
  // The server lands the run on the frame the browser confirmed last, the one on screen, so the frozen
  // picture is the one the run ends on. A copy of it covers the live picture until the status no longer
  // says the run is playing and the picture under it has loaded, or for at most COVER_MS.
  const RUNNING = RUNNING_STATES; // filled in by app/live_view.py
  const COVER_MS = 5000;
  const state = (status) => (status.innerText.trim().match(/^\S+/) || [""])[0];

  const freeze = (view) => {
    const picture = document.querySelector(`#${view}-picture img:not(.frozen-frame)`);
    const status = document.querySelector(`#${view}-status`);
    if (window.pixelrnnFreeze === false) return; // bench/pause_stop.py measures the view without the freeze too
    if (!picture || !status || !RUNNING.includes(state(status))) return;
    document.querySelectorAll(`#${view}-picture .frozen-frame`).forEach((old) => old.remove());
    const cover = picture.cloneNode();
    cover.classList.add("frozen-frame");
    picture.parentElement.style.position = "relative";
    Object.assign(cover.style, {
      position: "absolute",
      left: `${picture.offsetLeft}px`,
      top: `${picture.offsetTop}px`,
      width: `${picture.offsetWidth}px`,
      height: `${picture.offsetHeight}px`,
      pointerEvents: "none",
    });
    picture.after(cover);
    const frozenSource = picture.src;
    let observer = null;
    const uncover = () => {
      if (observer) observer.disconnect();
      cover.remove();
    };
    const uncoverWhenLoaded = () => {
      const shown = document.querySelector(`#${view}-picture img:not(.frozen-frame)`);
      if (!shown || (shown.complete && shown.src !== frozenSource)) return uncover();
      // Stop answers with the state first and the picture after it; a paused picture may not change at all.
      shown.addEventListener("load", uncover, { once: true });
      setTimeout(uncover, 1000);
    };
    observer = new MutationObserver(() => {
      if (!RUNNING.includes(state(status))) {
        observer.disconnect();
        observer = null;
        uncoverWhenLoaded();
      }
    });
    observer.observe(status, { subtree: true, childList: true, characterData: true });
    setTimeout(uncover, COVER_MS);
  };

  // Capture: before gradio's own handler sends the click to the server.
  document.addEventListener(
    "click",
    (event) => {
      const button = event.target.closest && event.target.closest("button[id$='-pause'], button[id$='-stop']");
      if (button) freeze(button.id.replace(/-(pause|stop)$/, ""));
    },
    true,
  );
}
