// The viewer (templates/detail.html): previous/next by arrow keys, swipe or its buttons; Escape goes back.
// Previous/next replace the history entry, so Back (and Escape) return to the results page where it was.
(() => {
  const viewer = document.querySelector(".viewer[data-back-url]");
  if (!viewer) return;
  // Escape goes back in history when this viewer was reached from its results page (directly, or by
  // previous/next from there), else it opens that results page: a bookmarked viewer has nothing to go back to.
  const backUrl = new URL(viewer.dataset.backUrl, location.href);
  const samePage = (a, b) => a.origin === b.origin && a.pathname === b.pathname && a.search === b.search;
  const steppedHere = sessionStorage.getItem("viewer-step") === location.href;
  sessionStorage.removeItem("viewer-step");
  const fromResults = (document.referrer && samePage(new URL(document.referrer), backUrl))
    || (steppedHere && sessionStorage.getItem("viewer-from-results") === "1");
  sessionStorage.setItem("viewer-from-results", fromResults ? "1" : "0");
  const go = (href) => {
    sessionStorage.setItem("viewer-step", new URL(href, location.href).href);
    location.replace(href);
  };
  const step = (rel) => {
    const link = viewer.querySelector(`a[rel=${rel}]`);
    if (link) go(link.href);
  };
  const back = () => {
    if (fromResults) history.back();
    else location.assign(backUrl.href);
  };
  viewer.addEventListener("click", (event) => {
    const link = event.target.closest("a[rel=prev], a[rel=next]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    go(link.href);
  });
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    if (event.key === "ArrowLeft") step("prev");
    else if (event.key === "ArrowRight") step("next");
    else if (event.key === "Escape" && !document.querySelector("details.help[open]")) back();
    else return;
    event.preventDefault();
  });
  let start = null;
  viewer.addEventListener("touchstart", (event) => {
    start = event.touches.length === 1 ? event.touches[0] : null;
  }, { passive: true });
  viewer.addEventListener("touchend", (event) => {
    if (!start) return;
    const dx = event.changedTouches[0].clientX - start.clientX;
    const dy = event.changedTouches[0].clientY - start.clientY;
    start = null;
    if (Math.abs(dx) > 60 && Math.abs(dx) > 2 * Math.abs(dy)) step(dx > 0 ? "prev" : "next");
  });
})();

// Copy buttons (the viewer's path): shown only where the clipboard can be written.
document.querySelectorAll("button.copy[data-copy]").forEach((button) => {
  if (!navigator.clipboard) return;
  button.hidden = false;
  const label = button.textContent;
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(button.dataset.copy);
    button.textContent = button.dataset.copied;
    setTimeout(() => { button.textContent = label; }, 2000);
  });
});

// The query-syntax help closes with Escape or a click outside it.
document.querySelectorAll("details.help").forEach((help) => {
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && help.open) {
      help.open = false;
      help.querySelector("summary").focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (help.open && !help.contains(event.target)) help.open = false;
  });
});
