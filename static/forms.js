// A search form's empty fields stay out of the URL (/search?q=red, not ?q=red&folder=&from=&to=...): they are
// disabled while the form is sent, and enabled again at once for when the page comes back from the history.
// Without JavaScript the server takes the empty ones all the same.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.method !== "get") return;
  const empty = [...form.elements].filter((field) => field.name && !field.disabled && field.value === "");
  for (const field of empty) field.disabled = true;
  setTimeout(() => { for (const field of empty) field.disabled = false; });
});
