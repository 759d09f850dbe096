// Selecting results (templates/_grid.html): a tile's checkbox, shift-click for a range, space on a focused
// tile. The selection is kept per set of results (the URL without its page) in sessionStorage, so it spans
// the pages of one search, up to its 480 results; the form posts every selected id, not only this page's.
// Without this script the checkboxes still post this page's ticked ids to the same route.
(() => {
  const form = document.getElementById("selection");
  if (!form) return;
  const say = form.dataset;  // the messages, in the page's language
  const boxes = [...document.querySelectorAll("input[type=checkbox][form=selection]")];
  const bar = form.querySelector(".selection-bar");
  const count = form.querySelector(".selection-count");
  const hint = count.textContent;
  const copy = form.querySelector(".copy-paths");
  const selectPage = form.querySelector(".select-page");
  const clear = form.querySelector(".clear-selection");

  const here = new URL(location.href);
  here.hash = "";
  for (const name of ["page", "lang"]) here.searchParams.delete(name);
  const key = `selection:${here.pathname}?${here.searchParams}`;
  let chosen;  // id -> path, in the order chosen
  try {
    chosen = new Map(JSON.parse(sessionStorage.getItem(key) || "[]"));
  } catch {
    chosen = new Map();
  }
  const save = () => {
    try {
      sessionStorage.setItem(key, JSON.stringify([...chosen]));
    } catch { /* storage full or off: the selection lasts as long as the page */ }
  };

  const show = () => {
    const n = chosen.size;
    count.textContent = n ? (n === 1 ? say.one : say.many).replace("{num}", n.toLocaleString()) : hint;
    bar.classList.toggle("active", n > 0);
    form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = n === 0; });
    clear.hidden = n === 0;
    boxes.forEach((box) => box.closest(".tile").classList.toggle("selected", box.checked));
  };
  const set = (box, on) => {
    box.checked = on;
    if (on) chosen.set(box.value, box.dataset.path);
    else chosen.delete(box.value);
  };

  boxes.forEach((box) => { box.checked = chosen.has(box.value); });
  selectPage.hidden = false;
  if (navigator.clipboard) {
    copy.hidden = false;
    form.querySelector(".list-paths").hidden = true;
  }

  let last = null;  // the box clicked last: a shift-click sets every box from there to the one clicked
  document.addEventListener("click", (event) => {
    const box = event.target.closest("input[type=checkbox][form=selection]");
    if (!box) return;
    if (event.shiftKey && last && last !== box) {
      const [a, b] = [boxes.indexOf(last), boxes.indexOf(box)].sort((x, y) => x - y);
      boxes.slice(a, b + 1).forEach((each) => set(each, box.checked));
    } else {
      set(box, box.checked);
    }
    last = box;
    save();
    show();
  });
  // Space on a focused tile's link ticks its box (a link has no use for space but scrolling).
  document.addEventListener("keydown", (event) => {
    if (event.key !== " " || event.altKey || event.ctrlKey || event.metaKey) return;
    const thumb = event.target.closest(".grid a.thumb");
    const box = thumb && thumb.closest(".tile").querySelector("input[type=checkbox][form=selection]");
    if (!box) return;
    event.preventDefault();
    if (event.shiftKey && last && last !== box) {
      const [a, b] = [boxes.indexOf(last), boxes.indexOf(box)].sort((x, y) => x - y);
      boxes.slice(a, b + 1).forEach((each) => set(each, !box.checked));
    } else {
      set(box, !box.checked);
    }
    last = box;
    save();
    show();
  });
  selectPage.addEventListener("click", () => {
    boxes.forEach((box) => set(box, true));
    save();
    show();
  });
  clear.addEventListener("click", () => {
    chosen.clear();
    boxes.forEach((box) => { box.checked = false; });
    save();
    show();
  });
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText([...chosen.values()].join("\n"));
      count.textContent = say.copied;
    } catch {
      count.textContent = say.copyFailed;
    }
    setTimeout(show, 2000);
  });
  // The ids chosen on other pages of these results travel as hidden fields beside this page's boxes.
  form.addEventListener("submit", () => {
    form.querySelectorAll("input.elsewhere").forEach((input) => input.remove());
    const onPage = new Set(boxes.map((box) => box.value));
    for (const id of chosen.keys()) {
      if (onPage.has(id)) continue;
      const input = document.createElement("input");
      Object.assign(input, { type: "hidden", name: "id", value: id, className: "elsewhere" });
      form.append(input);
    }
  });
  show();
})();
