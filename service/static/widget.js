/*
 * <citeline-chat>: Citeline's chat widget, one framework-free script.
 *
 *   <script src="https://citeline.intranet/widget.js"></script>
 *   <citeline-chat></citeline-chat>
 *
 * Attributes: api (service base URL; default: this script's origin), model (collection; default
 * "citeline"). Everything lives in a closed-over scope and a shadow root: the only global is the
 * custom element, host-page CSS cannot reach inside, and nothing inside styles the host page.
 * Document text is untrusted: it is only ever set with textContent, never parsed as HTML.
 */
(() => {
  "use strict";
  if (customElements.get("citeline-chat")) return;

  // currentScript exists only while this file first runs: capture the default API origin now.
  const SCRIPT_ORIGIN = (() => {
    const s = document.currentScript;
    try { return new URL(s && s.src ? s.src : location.href).origin; } catch (_) { return location.origin; }
  })();

  // px units only: a host page with `:root { font-size: 0 }` would collapse rem-based sizes.
  const CSS = `
    :host { all: initial !important; display: block !important; visibility: visible !important;
      opacity: 1 !important; position: relative !important; box-sizing: border-box !important;
      max-width: 720px !important; min-height: 320px !important; margin: 16px 0 !important;
      font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif !important;
      color: #1b1f24 !important; contain: layout paint; }
    *, *::before, *::after { box-sizing: border-box; }
    .box { display: flex; flex-direction: column; border: 1px solid #c9d1d9; border-radius: 10px;
      background: #fff; color: #1b1f24; overflow: hidden; min-height: 320px; font-size: 15px; }
    header { display: flex; align-items: center; justify-content: space-between; padding: 10px 14px;
      background: #0b3d91; color: #fff; font-weight: 600; font-size: 15px; }
    header button { background: transparent; color: #fff; border: 1px solid #ffffff80; }
    .log { flex: 1; padding: 12px 14px; overflow-y: auto; max-height: 480px; display: block; }
    .msg { display: block; margin: 0 0 12px; padding: 8px 12px; border-radius: 8px;
      white-space: pre-wrap; word-wrap: break-word; font-size: 15px; color: #1b1f24; }
    .user { background: #e8f0fe; margin-left: 48px; }
    .bot { background: #f6f8fa; margin-right: 24px; }
    .bot.error { background: #fdecea; color: #8a1c14; border: 1px solid #f5c2bd; }
    .note { display: block; margin-top: 6px; font-size: 13px; color: #57606a; font-style: italic; }
    .bot.unanswerable { background: #fff8e1; border: 1px solid #f0d68a; }
    .cite { display: inline-block; min-width: 22px; margin: 0 2px; padding: 0 5px; font: 600 12px/18px
      system-ui, sans-serif; color: #0b3d91; background: #dbe7ff; border: 1px solid #9db8f0;
      border-radius: 9px; cursor: pointer; vertical-align: baseline; }
    button:focus-visible, textarea:focus-visible, .panel:focus-visible { outline: 3px solid #f59e0b;
      outline-offset: 2px; }
    form { display: flex; gap: 8px; padding: 10px 14px; border-top: 1px solid #d0d7de; align-items: end; }
    label { display: block; font-size: 13px; color: #57606a; margin-bottom: 4px; }
    .field { flex: 1; display: block; }
    textarea { display: block; width: 100%; min-height: 42px; resize: vertical; padding: 8px;
      font: 15px/1.4 system-ui, sans-serif; color: #1b1f24; background: #fff;
      border: 1px solid #8c959f; border-radius: 6px; }
    button { display: inline-block; font: 600 14px/1 system-ui, sans-serif; padding: 10px 14px;
      border-radius: 6px; border: 1px solid #0b3d91; background: #0b3d91; color: #fff; cursor: pointer; }
    button[disabled] { opacity: .6; cursor: progress; }
    .panel { display: block; margin: 0 14px 12px; padding: 10px 12px; border: 1px solid #9db8f0;
      border-radius: 8px; background: #f5f8ff; font-size: 14px; }
    .panel[hidden] { display: none; }
    .panel h2 { font-size: 14px; margin: 0 0 4px; color: #0b3d91; }
    .panel .where { font-size: 13px; color: #57606a; margin: 0 0 6px; }
    .panel blockquote { margin: 0; padding: 6px 10px; border-left: 4px solid #0b3d91;
      background: #fff; white-space: pre-wrap; font-size: 14px; color: #1b1f24; }
    .panel .close { float: right; padding: 4px 8px; font-size: 12px; }
    .panel .open { margin-top: 8px; padding: 6px 10px; font-size: 13px; }
    .context { display: block; margin-top: 8px; padding: 8px 10px; max-height: 260px; overflow-y: auto;
      background: #fff; border: 1px solid #d0d7de; border-radius: 6px; white-space: pre-wrap;
      font-size: 13px; color: #1b1f24; }
    .context mark { background: #fde68a; color: #1b1f24; outline: 2px solid #f59e0b; }
    .context .gap { color: #57606a; }
    .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
      white-space: nowrap; }
  `;

  // What a citation's quote was checked against (`Citation.verified`).
  const VERIFIED = {
    file: "Checked against the file as stored now.",
    extracted: "Checked against the text extracted from the indexed document.",
    index: "Not checked against the file (missing or changed since indexing): the indexed text.",
  };

  const el = (tag, attrs = {}, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };

  // Server-Sent Events over fetch (EventSource cannot POST): yields each `data:` payload string.
  async function* sseData(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = block.split("\n").filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
        if (data) yield data;  // comment-only blocks (`: ping` heartbeats) carry no data
      }
    }
  }

  class CitelineChat extends HTMLElement {
    constructor() {
      super();
      this._history = [];   // OpenAI-style turns, sent whole so follow-ups are made standalone
      this._token = null;   // { token, expiresAt } when the service has auth on
      this._busy = false;
      this._root = this.attachShadow({ mode: "open" });
    }

    get api() { return (this.getAttribute("api") || SCRIPT_ORIGIN).replace(/\/+$/, ""); }
    get model() { return this.getAttribute("model") || "citeline"; }

    connectedCallback() {
      if (this._box) return;
      const uid = Math.random().toString(36).slice(2, 8);
      const style = el("style");
      style.textContent = CSS;
      const box = el("section", { class: "box", "aria-label": "Ask the documents" });
      const header = el("header");
      header.append(el("span", {}, "Ask the documents"));
      this._reset = el("button", { type: "button", class: "reset" }, "New conversation");
      this._reset.addEventListener("click", () => this.resetConversation());
      header.append(this._reset);
      // role=log is polite by default; aria-busy holds announcements until an answer is complete.
      this._log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
      this._panel = el("section", { class: "panel", hidden: "", tabindex: "-1", role: "region",
        "aria-label": "Cited passage" });
      const form = el("form", { novalidate: "" });
      const field = el("div", { class: "field" });
      const inputId = `citeline-q-${uid}`;
      field.append(el("label", { for: inputId }, "Your question"));
      this._input = el("textarea", { id: inputId, name: "q", rows: "2", autocomplete: "off",
        placeholder: "e.g. How many R&D centers does Huawei have?" });
      field.append(this._input);
      this._send = el("button", { type: "submit", class: "send" }, "Ask");
      form.append(field, this._send);
      form.addEventListener("submit", (e) => { e.preventDefault(); this.ask(this._input.value); });
      this._input.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); this.ask(this._input.value); }
      });
      this._root.addEventListener("keydown", (e) => {
        if (e.key === "Escape" && !this._panel.hidden) this.closeCitation();
      });
      box.append(header, this._log, this._panel, form);
      this._root.append(style, box);
      this._box = box;
    }

    resetConversation() {
      this._history = [];
      this._log.replaceChildren();
      this.closeCitation();
      this._input.focus();
    }

    // Where the token comes from: `token-url` names an endpoint of the embedding page's own
    // backend (same origin as the page, cookies sent) that exchanges its API key for a widget
    // token; without it the service's /v1/widget/token is asked (auth off, SSO proxy, anonymous).
    get tokenUrl() { return this.getAttribute("token-url") || `${this.api}/v1/widget/token`; }

    async _authHeader() {
      const now = Date.now() / 1000;
      if (this._token === false) return {};  // the service said auth is off: never ask again
      if (this._token && this._token.expiresAt - 30 > now) return { Authorization: `Bearer ${this._token.token}` };
      const own = this.hasAttribute("token-url");
      const res = await fetch(this.tokenUrl, { credentials: own ? "same-origin" : "omit" });
      if (!res.ok) throw new Error(`token ${res.status}`);
      const body = await res.json();
      if (body.auth_enabled === false) { this._token = false; return {}; }
      this._token = body.token ? { token: body.token, expiresAt: body.expires_at } : null;
      return this._token ? { Authorization: `Bearer ${this._token.token}` } : {};
    }

    async ask(text) {
      const question = (text || "").trim();
      if (!question || this._busy) return;
      this._busy = true;
      this._send.disabled = true;
      this._input.value = "";
      this._log.append(el("div", { class: "msg user" }, question));
      const bubble = el("div", { class: "msg bot", "data-state": "streaming" });
      const body = el("span", { class: "text" });
      bubble.append(body);
      this._log.append(bubble);
      this._log.setAttribute("aria-busy", "true");
      const turns = [...this._history, { role: "user", content: question }];
      let streamed = "";
      let final = null;
      try {
        let res;
        try {
          const auth = await this._authHeader();
          res = await fetch(`${this.api}/v1/chat/completions`, {
            method: "POST", credentials: "omit",
            headers: { "Content-Type": "application/json", Accept: "text/event-stream", ...auth },
            body: JSON.stringify({ model: this.model, messages: turns, stream: true }),
          });
        } catch (_) {
          throw new Error(`Can't reach the Citeline service at ${this.api}. It may be down, ` +
            "or this page isn't allowed to use it.");
        }
        if (!res.ok) {
          let detail = `The service answered HTTP ${res.status}.`;
          try { const j = await res.json(); detail = (j.error && j.error.message) || detail; } catch (_) {}
          throw new Error(detail);
        }
        for await (const data of sseData(res)) {
          if (data === "[DONE]") break;
          const chunk = JSON.parse(data);
          if (chunk.error) throw new Error(chunk.error.message || "The answer failed.");
          const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
          if (delta && delta.content) { streamed += delta.content; body.textContent = streamed; }
          if (chunk.citeline) final = chunk.citeline;
        }
        if (!final) throw new Error("The answer stream ended early.");
        this._renderFinal(bubble, body, final);
        this._history = [...turns, { role: "assistant", content: final.answer }];
      } catch (err) {
        bubble.classList.add("error");
        bubble.setAttribute("role", "alert");
        bubble.setAttribute("data-state", "error");
        body.textContent = streamed ? `${streamed}\n\n${err.message}` : err.message;
      } finally {
        this._log.setAttribute("aria-busy", "false");
        this._busy = false;
        this._send.disabled = false;
        this._log.scrollTop = this._log.scrollHeight;
        this._input.focus();
      }
    }

    // The final answer replaces the streamed text: markers that failed verification are gone.
    _renderFinal(bubble, body, final) {
      const byN = new Map((final.citations || []).map((c) => [c.n, c]));
      body.replaceChildren();
      for (const part of final.answer.split(/(\[\d+\])/)) {
        const m = /^\[(\d+)\]$/.exec(part);
        const cite = m && byN.get(Number(m[1]));
        if (cite) {
          const b = el("button", { type: "button", class: "cite", "data-n": String(cite.n),
            "aria-label": `Source ${cite.n}: ${cite.source}, ${this._where(cite)}` },
            String(cite.n));
          b.addEventListener("click", () => this.openCitation(cite, b));
          body.append(b);
        } else if (!m) {
          body.append(document.createTextNode(part));
        }
      }
      bubble.setAttribute("data-state", final.answerable ? "answered" : "unanswerable");
      if (!final.answerable) {
        bubble.classList.add("unanswerable");
        bubble.append(el("span", { class: "note" }, "Not in the documents: no passage answers this."));
      }
    }

    // PDF: page(s); DOCX: paragraph and heading path; text files: lines.
    _where(cite) {
      if (cite.locator) return cite.locator;
      return cite.line_start === cite.line_end ? `line ${cite.line_start}`
        : `lines ${cite.line_start}–${cite.line_end}`;
    }

    openCitation(cite, opener) {
      this._opener = opener;
      const close = el("button", { type: "button", class: "close" }, "Close");
      close.addEventListener("click", () => this.closeCitation());
      const open = el("button", { type: "button", class: "open" }, "Open in document");
      open.addEventListener("click", () => this.openDocument(cite, open));
      this._panel.replaceChildren(close, el("h2", {}, `[${cite.n}] ${cite.title || cite.source}`),
        el("p", { class: "where" }, `${cite.source}, ${this._where(cite)}`),
        el("blockquote", {}, cite.quote),
        el("span", { class: "note", "data-verified": cite.verified || "index" },
          VERIFIED[cite.verified] || VERIFIED.index), open);
      this._panel.hidden = false;
      this._panel.focus();  // keyboard and screen-reader users land on the passage they asked for
    }

    // The cited span in its surroundings, from GET /v1/documents/{source}. Text only: the
    // document is untrusted, so every piece is a text node (the highlight is a <mark> element).
    async openDocument(cite, button) {
      const CONTEXT = 700;  // characters shown each side of the span
      const box = el("div", { class: "context", role: "region", tabindex: "-1",
        "aria-label": `${cite.source}, ${this._where(cite)}, in context` });
      box.append(el("span", { class: "gap" }, "Loading the document…"));
      button.replaceWith(box);
      try {
        const path = cite.source.split("/").map(encodeURIComponent).join("/");
        const query = `char_start=${cite.char_start}&char_end=${cite.char_end}`;
        const res = await fetch(`${this.api}/v1/documents/${path}?${query}`,
          { credentials: "omit", headers: { ...(await this._authHeader()) } });
        const doc = await res.json();
        if (!res.ok) throw new Error((doc.error && doc.error.message) || `HTTP ${res.status}`);
        const at = (i) => Math.max(0, Math.min(doc.text.length, i - doc.text_start));
        // span.text_start/text_end: the span in the document text as read (a text file's
        // citation offsets index the file as stored: markup, \r\n and a BOM included).
        const s = at(doc.span.text_start), e = at(doc.span.text_end);
        const from = at(doc.span.text_start - CONTEXT), to = at(doc.span.text_end + CONTEXT);
        const where = doc.span.page ? `Page ${doc.span.page}` +
          (doc.span.page_end && doc.span.page_end !== doc.span.page ? `–${doc.span.page_end}` : "")
          : (doc.span.locator || `characters ${doc.span.char_start}–${doc.span.char_end}`);
        box.replaceChildren(el("p", { class: "where" }, `${where} of ${doc.source}`),
          el("span", { class: "gap" }, from > 0 || doc.text_start > 0 ? "…" : ""),
          document.createTextNode(doc.text.slice(from, s)),
          el("mark", {}, doc.text.slice(s, e)),
          document.createTextNode(doc.text.slice(e, to)),
          el("span", { class: "gap" }, to < doc.text.length || doc.truncated ? "…" : ""));
        box.focus();
        const mark = box.querySelector("mark");
        if (mark && mark.scrollIntoView) mark.scrollIntoView({ block: "center" });
      } catch (err) {
        box.replaceChildren(el("span", { class: "gap", role: "alert" },
          `Could not open the document: ${err.message}`));
      }
    }

    closeCitation() {
      if (this._panel.hidden) return;
      this._panel.hidden = true;
      this._panel.replaceChildren();
      if (this._opener) this._opener.focus();
    }
  }

  customElements.define("citeline-chat", CitelineChat);
})();
