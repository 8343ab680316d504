// The editor of a piece's text (Trix). Load this file before Trix: it prepares the text before the editor reads it.
//
// Trix has no tables. A table (from a Word upload, or pasted from Word or a web page) travels through it as a
// "content attachment": a block the editor shows and keeps as it is, which the writer can move or delete, and
// whose cells "Edit table" opens for changes. The editor writes such a block as <figure data-trix-attachment>
// around the table; the server keeps only the table (review.services.sanitise).

const TABLE_TYPE = "application/vnd.imprimatur.table";

// Pieces carry text only: refuse the files Trix would otherwise take in.
document.addEventListener("trix-file-accept", (event) => event.preventDefault());

// The text of a cell, one line per paragraph or line break, white space as a reader sees it (the line breaks in
// Word's markup itself are not the text's).
const LINE = "\u2028";
function cellLines(cell) {
  const copy = cell.cloneNode(true);
  copy.querySelectorAll("br").forEach((br) => br.replaceWith(LINE));
  copy.querySelectorAll("p, div, li, h1, h2, h3, h4, h5, h6").forEach((block) => block.append(LINE));
  return copy.textContent
    .split(LINE)
    .map((text) => text.replace(/\s+/g, " ").trim())
    .filter(Boolean);
}

// A plain copy of `source` (rows, cells, their spans and their text), whatever markup it came with.
function plainTable(source) {
  const table = document.createElement("table");
  const body = table.createTBody();
  for (const sourceRow of source.rows) {
    const row = body.insertRow();
    for (const sourceCell of sourceRow.cells) {
      const cell = document.createElement(sourceCell.tagName === "TH" ? "th" : "td");
      for (const span of ["colspan", "rowspan"]) {
        const value = parseInt(sourceCell.getAttribute(span), 10);
        if (value > 1) cell.setAttribute(span, String(value));
      }
      cellLines(sourceCell).forEach((line, index) => {
        if (index) cell.append(document.createElement("br"));
        cell.append(line);
      });
      row.append(cell);
    }
  }
  return table;
}

// Replace each outermost table in `root` with the block the editor keeps; `clean` copies it plainly first.
function tablesAsAttachments(root, { clean }) {
  for (const table of Array.from(root.querySelectorAll("table"))) {
    if (table.parentElement.closest("table, figure[data-trix-attachment]")) continue;
    const content = (clean ? plainTable(table) : table).outerHTML;
    const figure = root.ownerDocument.createElement("figure");
    figure.setAttribute("data-trix-attachment", JSON.stringify({ content, contentType: TABLE_TYPE }));
    figure.setAttribute("data-trix-content-type", TABLE_TYPE);
    table.replaceWith(figure);
  }
}

// Second- and third-level headings (from Word, pasted or uploaded) are kept as such; the toolbar offers the first.
function addHeadings() {
  const blocks = window.Trix.config.blockAttributes;
  for (const level of [2, 3]) {
    blocks[`heading${level}`] ||= { tagName: `h${level}`, terminal: true, breakOnReturn: true, group: false };
  }
}

// The stored text, as the editor is about to read it: its tables become blocks the editor keeps.
// The editor's own words (toolbar, link dialog) in the reader's language, given by the page (#editor-lang).
function translate() {
  const strings = document.getElementById("editor-lang");
  if (strings) Object.assign(window.Trix.config.lang, JSON.parse(strings.textContent));
}

document.addEventListener("trix-before-initialize", (event) => {
  translate();
  addHeadings();
  const input = event.target.inputElement;
  if (!input || !/<table/i.test(input.value)) return;
  const parsed = new DOMParser().parseFromString(input.value, "text/html");
  tablesAsAttachments(parsed.body, { clean: false });
  input.value = parsed.body.innerHTML;
});

// Word writes a list as paragraphs styled "mso-list:l0 level1", each starting with its number or bullet in a span
// styled "mso-list:Ignore". Make them lists again (nested by level; numbered when the marker is a number).
function wordLists(root) {
  let open = []; // the lists being filled: [{ level, list }], outermost first
  for (const paragraph of Array.from(root.querySelectorAll("p[style*='mso-list']"))) {
    const level = parseInt((paragraph.getAttribute("style").match(/level(\d+)/) || [0, "1"])[1], 10);
    const marker = paragraph.querySelector("[style*='mso-list:Ignore'], [style*='mso-list: Ignore']");
    const numbered = Boolean(marker) && /^[(（]?[0-9a-zA-Z一二三四五六七八九十]+[.)、．）]/.test(marker.textContent.trim());
    if (marker) marker.remove();
    if (!open.length || paragraph.previousElementSibling !== open[0].list) open = []; // not part of the list above
    while (open.length && open[open.length - 1].level > level) open.pop();
    let current = open[open.length - 1];
    if (!current || current.level < level) {
      const list = root.ownerDocument.createElement(numbered ? "ol" : "ul");
      if (current && current.list.lastElementChild) current.list.lastElementChild.append(list);
      else paragraph.before(list);
      current = { level, list };
      open.push(current);
    }
    const item = root.ownerDocument.createElement("li");
    item.append(...paragraph.childNodes);
    current.list.append(item);
    paragraph.remove();
  }
}

// What Word (or WPS) puts on the clipboard, and any pasted table, is reduced to what the editor keeps: headings,
// lists, lines, and tables as blocks of rows and text.
function looksLikeWord(html) {
  return /<table|urn:schemas-microsoft-com:office|mso-/i.test(html);
}

document.addEventListener(
  "paste",
  (event) => {
    const editor = event.target.closest && event.target.closest("trix-editor");
    const html = event.clipboardData && event.clipboardData.getData("text/html");
    if (!editor || !html || !looksLikeWord(html)) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    const parsed = new DOMParser().parseFromString(html, "text/html");
    parsed.querySelectorAll("style, script, meta, link, title").forEach((element) => element.remove());
    tablesAsAttachments(parsed.body, { clean: true });
    wordLists(parsed.body);
    // Word's paragraphs as the editor's own lines, without the blank line it would put after each <p>.
    for (const paragraph of Array.from(parsed.body.querySelectorAll("p"))) {
      const line = parsed.createElement("div");
      line.append(...paragraph.childNodes);
      paragraph.replaceWith(line);
    }
    editor.editor.insertHTML(parsed.body.innerHTML.trim());
  },
  true,
);

// "Edit table": the table's cells in a dialog, typed into directly; Apply puts the changed table back.
const dialog = document.getElementById("table-editor");
let editing = null;

// The table an attachment holds, parsed inert (nothing in it runs or loads), or null when it holds none.
function tableOf(attachment) {
  const parsed = new DOMParser().parseFromString(attachment.getContent() || "", "text/html");
  return parsed.querySelector("table");
}

document.addEventListener("trix-attachment-before-toolbar", (event) => {
  const { toolbar, attachment } = event;
  if (!dialog || attachment.getContentType() !== TABLE_TYPE || !tableOf(attachment)) return;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "trix-button table-edit";
  button.textContent = dialog.dataset.editLabel;
  button.addEventListener("click", () => openTable(toolbar.closest("trix-editor"), attachment));
  (toolbar.querySelector(".trix-button-group") || toolbar).append(button);
});

// A click on a table in an editor that has not the focus yet would only give it the focus, and the toolbar with
// "Edit table" would not stay: give the editor the focus first.
document.addEventListener(
  "mousedown",
  (event) => {
    const editor = event.target.closest && event.target.closest("trix-editor");
    if (editor && event.target.closest("figure") && document.activeElement !== editor) editor.focus();
  },
  true,
);

function openTable(editor, attachment) {
  const holder = dialog.querySelector(".table-editor-body");
  // A plain copy (rows, cells, their text), built here: whatever else the attachment's markup held is left behind.
  holder.replaceChildren(plainTable(tableOf(attachment)));
  holder.querySelectorAll("td, th").forEach((cell) => cell.setAttribute("contenteditable", "true"));
  editing = { editor, attachment };
  dialog.showModal();
  const first = holder.querySelector("td, th");
  if (first) first.focus();
}

if (dialog) {
  dialog.querySelector("[value=apply]").addEventListener("click", () => {
    const table = dialog.querySelector(".table-editor-body table");
    table.querySelectorAll("[contenteditable]").forEach((cell) => cell.removeAttribute("contenteditable"));
    // Put the cursor after the table first: the editor does not redraw a block while it is selected.
    const { editor, attachment } = editing;
    editor.editor.setSelectedRange(editor.editor.getDocument().getRangeOfAttachment(attachment)[1]);
    attachment.setAttributes({ content: table.outerHTML });
    dialog.close();
    editor.focus();
  });
  dialog.querySelector("[value=cancel]").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    editing = null;
    dialog.querySelector(".table-editor-body").replaceChildren();
  });
}
