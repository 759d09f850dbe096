// Arrow keys move between result tiles; Enter opens the focused one (a link's own behaviour).
// Up and down jump a row: the column count is read from the laid-out grid, so it follows the window width.
document.addEventListener("keydown", (event) => {
  const steps = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: "up", ArrowDown: "down" };
  if (!(event.key in steps) || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.target.closest("input, textarea, select, [contenteditable]")) return;
  const tiles = [...document.querySelectorAll(".grid a.thumb")];
  if (!tiles.length) return;
  const here = tiles.indexOf(document.activeElement);
  let next = 0;
  if (here >= 0) {
    const rowTop = tiles[0].closest("li").offsetTop;
    const columns = tiles.filter((a) => a.closest("li").offsetTop === rowTop).length || 1;
    const step = steps[event.key];
    next = here + (step === "up" ? -columns : step === "down" ? columns : step);
  }
  if (next < 0 || next >= tiles.length) return;
  event.preventDefault();
  tiles[next].focus();
  tiles[next].scrollIntoView({ block: "nearest" });
});
