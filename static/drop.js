// Drop or paste a picture anywhere: it is posted like the upload form, and the browser then opens
// the results' stable GET URL (so back, reload and bookmarks work as for any other search).
(() => {
  const body = document.body;
  const overlay = document.querySelector(".drop-overlay");
  const say = overlay.dataset;  // the messages, in the page's language (templates/base.html)
  // Browsers without a type for a phone's HEIC/HEIF or AVIF file give it none: its extension says it is a picture.
  const PHONE_PICTURE = /\.(heic|heif|avif)$/i;
  const isImage = (f) => f.type.startsWith("image/") || (!f.type && PHONE_PICTURE.test(f.name));
  const firstImage = (files) => [...(files || [])].find(isImage);
  const hasFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");

  let hideTimer = null;
  function show(text) {
    clearTimeout(hideTimer);
    overlay.textContent = text;
    overlay.hidden = false;
  }
  // A message (not a picture, a failure) stays a few seconds, then the page is usable again.
  function hideSoon() {
    clearTimeout(hideTimer);
    hideTimer = setTimeout(() => { overlay.hidden = true; }, 4000);
  }

  async function search(file) {
    const form = new FormData();
    form.append("csrf_token", body.dataset.csrfToken);
    form.append("image", file, file.name || "pasted.png");
    const words = document.querySelector("#upload-form input[name=q]");
    if (words && words.value.trim()) form.append("q", words.value.trim());
    show(say.searching);
    try {
      const response = await fetch(body.dataset.uploadUrl, { method: "POST", body: form });
      if (response.ok) return location.assign(response.url);  // fetch followed the 303 redirect
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      show(page.querySelector(".error")?.textContent || say.failedStatus.replace("{status}", response.status));
    } catch (error) {
      show(say.noAnswer);
    }
    hideSoon();
  }

  document.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    show(say.drop);
  });
  document.addEventListener("dragleave", (event) => {
    if (event.relatedTarget === null) overlay.hidden = true;
  });
  document.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    const file = firstImage(event.dataTransfer.files);
    if (file) search(file);
    else {
      show(say.notAPicture);
      hideSoon();
    }
  });
  // A drag that ends elsewhere (Escape, dropped outside the window) leaves no overlay behind.
  document.addEventListener("dragend", () => { overlay.hidden = true; });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") overlay.hidden = true;
  });
  document.addEventListener("paste", (event) => {
    const file = firstImage(event.clipboardData?.files);
    if (!file) return;  // ordinary text pastes into the search box as usual
    event.preventDefault();
    search(file);
  });
})();
