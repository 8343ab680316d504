// Trix offers file attachments by default; pieces carry text only, so refuse them.
document.addEventListener("trix-file-accept", (event) => event.preventDefault());
