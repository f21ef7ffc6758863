() => {
  // Pause and Stop freeze the live picture at the click, before the server has heard of it: frames
  // already on their way would otherwise keep drawing for a round trip (0.3-0.6 s on a busy machine).
  // The server lands the run on the frame the browser confirmed last, the one on screen, so the frozen
  // picture is the one the run ends on. A copy of it covers the live picture until the answer has landed.
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
    // On the component's own box, which outlives the picture's: gradio may build the picture's element anew.
    const block = document.querySelector(`#${view}-picture`);
    if (getComputedStyle(block).position === "static") block.style.position = "relative";
    const at = picture.getBoundingClientRect(), origin = block.getBoundingClientRect();
    Object.assign(cover.style, {
      position: "absolute",
      left: `${at.left - origin.left - block.clientLeft}px`,
      top: `${at.top - origin.top - block.clientTop}px`,
      width: `${at.width}px`,
      height: `${at.height}px`,
      margin: "0",
      zIndex: "10",
      pointerEvents: "none",
    });
    block.appendChild(cover);
    const frozenSource = picture.src;
    const started = performance.now();
    let answered = null; // when the status first said the run no longer plays
    // Checked at every frame the browser draws (gradio may build the picture's element anew, so no load event to
    // wait for): uncover once the answer's picture has loaded under a status that says so (Stop answers with the
    // state alone, and a frame still on its way may come after it; a paused picture may not change at all: then
    // after a second), when the user goes on (see below), or after COVER_MS whatever happens.
    const watch = () => {
      const now = performance.now();
      const playing = RUNNING.includes(state(status));
      if (!playing && answered === null) answered = now;
      const shown = document.querySelector(`#${view}-picture img:not(.frozen-frame)`);
      const loaded = !shown || (shown.complete && shown.src !== frozenSource);
      const landed = !playing && answered !== null && (loaded || now - answered > 1000);
      if (landed || now - started > COVER_MS || !cover.isConnected) cover.remove();
      else requestAnimationFrame(watch);
    };
    requestAnimationFrame(watch);
  };

  // Capture: before gradio's own handler sends the click to the server. Any other button of a view (Resume,
  // Generate, the steps) goes on from the frozen picture: the live one shows again.
  document.addEventListener(
    "click",
    (event) => {
      const button = event.target.closest && event.target.closest("button[id]");
      const pause = button && button.id.match(/^(.+)-(pause|stop)$/);
      if (pause) return freeze(pause[1]);
      const view = button && document.querySelector(`#${button.id.split("-")[0]}-picture`);
      if (view) view.querySelectorAll(".frozen-frame").forEach((cover) => cover.remove());
    },
    true,
  );
}
