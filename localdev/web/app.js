// The local Slack page: polls /workspace/state, renders channels, threads, Block Kit and
// modals, and sends what you do to /workspace/*, which signs it and calls the app as Slack does.
"use strict";

const POLL_MS = 400;
const page = {
  user: localStorage.getItem("signoff.user") || "UALICE",
  channel: localStorage.getItem("signoff.channel") || "CGENERAL",
  home: false,  // the App Home tab is open instead of a conversation
  highlight: null,  // a message a permalink opened the page at
  threadTs: null,
  state: null,
  shownVersion: -1,
  shownViewKey: null,
};
const $ = (id) => document.getElementById(id);

// ---- Slack's mrkdwn (and the markdown block's subset) to HTML -------------------------------
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function personName(id) {
  const s = page.state;
  if (!s) return id;
  if (id === s.bot.id) return s.bot.name;
  const person = s.people.find((p) => p.id === id);
  return person ? person.name : id;
}

function channelName(id) {
  const channel = page.state && page.state.channels.find((c) => c.id === id);
  return channel ? channel.name : id;
}

function groupHandle(id) {
  const group = page.state && page.state.groups.find((g) => g.id === id);
  return group ? group.handle : id;
}

// The emoji the app's messages use, by Slack shortcode.
const EMOJI = {
  white_check_mark: "\u2705", x: "\u274C", white_circle: "\u26AA", warning: "\u26A0\uFE0F",
  stop_sign: "\u{1F6D1}", octagonal_sign: "\u{1F6D1}", robot_face: "\u{1F916}", raised_hand: "\u270B",
  pencil2: "\u270F\uFE0F", no_entry_sign: "\u{1F6AB}", leftwards_arrow_with_hook: "\u21A9\uFE0F",
  hourglass_flowing_sand: "\u23F3", hourglass: "\u231B", arrows_counterclockwise: "\u{1F504}",
  inbox_tray: "\u{1F4E5}", alarm_clock: "\u23F0", rotating_light: "\u{1F6A8}",
  bell: "\u{1F514}", ballot_box_with_check: "\u2611\uFE0F", unlock: "\u{1F513}",
};

// Slack's three entities, as text (inside code Slack shows them as characters too).
function unescapeSlack(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

const DAY_MS = 86400000;
function dayLabel(date, long) {
  const today = new Date(); today.setHours(0, 0, 0, 0);
  const day = new Date(date); day.setHours(0, 0, 0, 0);
  const offset = Math.round((day - today) / DAY_MS);
  if (offset === 0) return "today";
  if (offset === -1) return "yesterday";
  if (offset === 1) return "tomorrow";
  return date.toLocaleDateString([], long ? { weekday: "long", month: "long", day: "numeric", year: "numeric" } : { month: "short", day: "numeric", year: "numeric" });
}

// <!date^epoch^format|fallback>: Slack's tokens, in the reader's time zone.
function slackDate(epoch, format) {
  const date = new Date(Number(epoch) * 1000);
  const time = date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  const tokens = {
    date_num: date.toISOString().slice(0, 10),
    date: date.toLocaleDateString([], { month: "long", day: "numeric", year: "numeric" }),
    date_short: date.toLocaleDateString([], { month: "short", day: "numeric", year: "numeric" }),
    date_long: date.toLocaleDateString([], { weekday: "long", month: "long", day: "numeric", year: "numeric" }),
    date_pretty: dayLabel(date, false), date_short_pretty: dayLabel(date, false), date_long_pretty: dayLabel(date, true),
    time, time_secs: date.toLocaleTimeString(),
  };
  return format.replace(/\{(\w+)\}/g, (token, name) => (name in tokens ? tokens[name] : token));
}

function mention(text) {
  return `<span class="mention">${escapeHtml(text)}</span>`;
}

function mrkdwn(text) {
  const tokens = [];
  const keep = (html) => `\u0000${tokens.push(html) - 1}\u0000`;
  let out = String(text || "")
    .replace(/```\n?([\s\S]*?)\n?```/g, (_, code) => keep(`<pre>${escapeHtml(unescapeSlack(code))}</pre>`))
    .replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${escapeHtml(unescapeSlack(code))}</code>`))
    .replace(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, (_, id) => keep(mention(`@${personName(id)}`)))
    .replace(/<#([CG][A-Z0-9]+)(?:\|([^>]*))?>/g, (_, id, name) => keep(mention(`#${name || channelName(id)}`)))
    .replace(/<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>/g, (_, id, label) => keep(mention(label || `@${groupHandle(id)}`)))
    .replace(/<!date\^(\d+)\^([^^|>]*)(?:\^[^|>]*)?\|[^>]*>/g, (_, epoch, format) => keep(escapeHtml(slackDate(epoch, format))))
    .replace(/<!(here|channel|everyone)(?:\|[^>]*)?>/g, (_, who) => keep(mention(`@${who}`)))
    .replace(/<((?:https?|mailto):[^|>]+)\|([^>]+)>/g, (_, url, label) => keep(`<a href="${escapeHtml(url)}">${escapeHtml(label)}</a>`))
    .replace(/<((?:https?|mailto):[^>]+)>/g, (_, url) => keep(`<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>`));
  out = escapeHtml(out)
    .replace(/&amp;(lt|gt|amp);/g, "&$1;")
    .replace(/\*\*([^*\n]+)\*\*/g, "<b>$1</b>")
    .replace(/(^|[\s(])\*([^*\n]+)\*/g, "$1<b>$2</b>")
    .replace(/(^|[\s(])_([^_\n]+)_/g, "$1<i>$2</i>")
    .replace(/(^|[\s(])~([^~\n]+)~/g, "$1<s>$2</s>")
    .replace(/^(?:&gt;|>) ?(.*)$/gm, "<blockquote>$1</blockquote>")
    .replace(/^#{1,3} (.*)$/gm, "<b>$1</b>")
    .replace(/\n/g, "<br>")
    .replace(/:([a-z0-9_+-]+):/g, (code, name) => EMOJI[name] || code);
  return out.replace(/\u0000(\d+)\u0000/g, (_, i) => tokens[Number(i)]);
}

// A message's time as Slack shows it beside the name (the full date on hover).
function messageTime(ts) {
  const date = new Date(Number(ts) * 1000);
  const short = date.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  return el("time", { class: "when", datetime: date.toISOString(), title: date.toLocaleString() }, escapeHtml(short));
}

function textObject(obj) {
  if (!obj) return "";
  return obj.type === "mrkdwn" ? mrkdwn(obj.text) : escapeHtml(obj.text).replace(/\n/g, "<br>");
}

// ---- Block Kit ------------------------------------------------------------------------------
function el(tag, attrs = {}, html = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  if (html) node.innerHTML = html;
  return node;
}

function button(element, onClick) {
  const node = el("button", { type: "button", class: element.style || "", "data-action-id": element.action_id });
  node.textContent = element.text ? element.text.text : "Button";
  node.addEventListener("click", () => onClick(element));
  return node;
}

function renderBlock(block, onAction) {
  const wrap = el("div", { class: `block ${block.type}` });
  switch (block.type) {
    case "header":
      wrap.append(el("h3", {}, escapeHtml(block.text.text)));
      break;
    case "section":
      if (block.text) wrap.append(el("div", {}, textObject(block.text)));
      if (block.fields) {
        const grid = el("div", { class: "fields" });
        block.fields.forEach((f) => grid.append(el("div", {}, textObject(f))));
        wrap.append(grid);
      }
      if (block.accessory && block.accessory.type === "button") wrap.append(button(block.accessory, (e) => onAction(block, e)));
      break;
    case "context":
      wrap.className += " context";
      (block.elements || []).forEach((e) => {
        if (e.type === "image") wrap.append(el("img", { src: e.image_url, alt: e.alt_text, width: 16, height: 16 }));
        else wrap.append(el("span", {}, textObject(e)));
      });
      break;
    case "divider":
      wrap.append(el("hr"));
      break;
    case "markdown":
      wrap.append(el("div", {}, mrkdwn(block.text)));
      break;
    case "image":
      wrap.append(el("img", { src: block.image_url, alt: block.alt_text, style: "max-width: 360px" }));
      break;
    case "actions": {
      wrap.className += " actions";
      (block.elements || []).filter((e) => e.type === "button").forEach((e) => wrap.append(button(e, (x) => onAction(block, x))));
      break;
    }
    case "rich_text": {
      const text = (block.elements || []).flatMap((s) => s.elements || []).map((e) => e.text || "").join("");
      wrap.append(el("div", {}, escapeHtml(text)));
      break;
    }
    default:
      wrap.append(el("div", { class: "context" }, `[${escapeHtml(block.type)} block]`));
  }
  return wrap;
}

// ---- Messages and threads -------------------------------------------------------------------
function renderMessage(message, channel, { ephemeral = false } = {}) {
  const node = el("div", { class: `message${ephemeral ? " ephemeral" : ""}`, "data-ts": message.ts || message.message_ts });
  const who = message.user && !ephemeral ? personName(message.user) : personName(page.state.bot.id);
  node.append(el("span", { class: "who" }, escapeHtml(who)));
  node.append(messageTime(message.ts || message.message_ts));
  if (ephemeral) node.append(el("span", { class: "only-you" }, "Only visible to you"));
  const blocks = message.blocks || [];
  if (blocks.length === 0) node.append(el("div", { class: "text" }, mrkdwn(message.text)));
  const onAction = (block, element) => act("/workspace/click", {
    channel, ts: message.ts, action: { action_id: element.action_id, block_id: block.block_id, value: element.value, text: element.text },
  });
  blocks.forEach((b) => node.append(renderBlock(b, onAction)));
  return node;
}

function conversations() {
  const s = page.state;
  return [...s.channels, ...s.dms.map((d) => ({ ...d, name: personName(d.with), dm: true }))];
}

function renderChannel() {
  const s = page.state;
  if (page.home) { renderHome(); return; }
  $("home").hidden = true; $("messages").hidden = false;
  const channel = conversations().find((c) => c.id === page.channel) || s.channels[0];
  page.channel = channel.id;
  $("channel-title").textContent = channel.dm ? `${channel.name} (direct message)` : `# ${channel.name}`;
  $("composer").hidden = Boolean(channel.dm);
  $("read-only").hidden = !channel.dm;
  if (channel.dm) markRead(channel);
  const ephemerals = s.ephemerals.filter((e) => e.channel === channel.id);
  const roots = channel.messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
  const items = [
    ...roots.map((m) => ({ ts: m.ts, node: () => renderThread(m, channel, ephemerals) })),
    ...ephemerals.filter((e) => !e.thread_ts).map((e) => ({ ts: e.message_ts, node: () => renderMessage(e, channel.id, { ephemeral: true }) })),
  ].sort((a, b) => Number(a.ts) - Number(b.ts));
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren(...items.map((i) => i.node()));
  if (atBottom) box.scrollTop = box.scrollHeight;
  showHighlight(box);
  $("target").textContent = page.threadTs ? "Replying in thread (Esc to leave)" : `Message #${channel.name}`;
}

function renderThread(root, channel, ephemerals) {
  const group = el("div", { class: "group" });
  group.append(renderMessage(root, channel.id));
  const replies = channel.messages.filter((m) => m.thread_ts === root.ts && m.ts !== root.ts);
  const threadEphemerals = ephemerals.filter((e) => e.thread_ts === root.ts);
  if (replies.length || threadEphemerals.length) {
    const thread = el("div", { class: "thread", "data-thread": root.ts });
    [...replies.map((m) => ({ ts: m.ts, node: renderMessage(m, channel.id) })),
     ...threadEphemerals.map((e) => ({ ts: e.message_ts, node: renderMessage(e, channel.id, { ephemeral: true }) }))]
      .sort((a, b) => Number(a.ts) - Number(b.ts)).forEach((i) => thread.append(i.node));
    group.append(thread);
  }
  const reply = el("button", { type: "button", class: "reply-link" }, replies.length ? `Reply in thread (${replies.length})` : "Reply in thread");
  reply.addEventListener("click", () => { page.threadTs = root.ts; renderChannel(); $("composer-text").focus(); });
  if (!channel.dm) group.append(reply);  // the app's Messages tab is read only
  return group;
}

// ---- Direct messages: unread until opened ---------------------------------------------------
function readKey(dm) { return `signoff.read.${page.user}.${dm.id}`; }

function unread(dm) {
  const seen = Number(localStorage.getItem(readKey(dm)) || 0);
  return dm.messages.filter((m) => Number(m.ts) > seen).length;
}

function markRead(dm) {
  const last = dm.messages.length ? dm.messages[dm.messages.length - 1].ts : "0";
  localStorage.setItem(readKey(dm), last);
}

// ---- Permalinks: /archives/<channel>/p<ts without its dot> opens the page at that message ----
function openPermalink(path) {
  const found = /^\/archives\/([A-Z0-9]+)\/p(\d+)$/.exec(path);
  if (!found) return false;
  page.channel = found[1];
  page.home = false;
  page.highlight = `${found[2].slice(0, -6)}.${found[2].slice(-6)}`;
  return true;
}

function showHighlight(box) {
  if (!page.highlight) return;
  const node = box.querySelector(`.message[data-ts="${page.highlight}"]`);
  if (!node) return;
  node.classList.add("highlight");
  node.scrollIntoView({ block: "center" });
  page.highlight = null;
  history.replaceState(null, "", "/");
}

// ---- App Home: Slack tells the app it was opened; the app publishes the view --------------
async function openHome() {
  page.home = true;
  renderChannel();
  await act("/workspace/home", {});
}

function renderHome() {
  const s = page.state;
  $("messages").hidden = true; $("composer").hidden = true; $("read-only").hidden = true;
  $("home").hidden = false;
  $("channel-title").textContent = `${s.bot.name} · Home`;
  const view = s.home;
  if (!view) { $("home").replaceChildren(el("div", { class: "context" }, "Opening\u2026")); return; }
  const onAction = async (block, element) => {
    const action = { action_id: element.action_id, block_id: block.block_id, value: element.value, text: element.text };
    await act("/workspace/click", { view_id: view.id, action });  // Slack tells the app of a URL button too
    if (element.url) window.location.assign(element.url);
  };
  $("home").replaceChildren(...(view.blocks || []).map((b) => renderBlock(b, onAction)));
}

// ---- Modals ---------------------------------------------------------------------------------
function renderModal(errors = {}) {
  const view = page.state.view;
  const root = $("modal-root");
  const key = view ? `${view.id}:${view.hash}` : null;
  if (key === page.shownViewKey && !Object.keys(errors).length) return;
  page.shownViewKey = key;
  if (!view) { root.replaceChildren(); return; }
  const modal = el("div", { class: "modal", role: "dialog", "aria-label": view.title.text });
  modal.append(el("h2", {}, escapeHtml(view.title.text)));
  const body = el("div", { class: "body" });
  for (const block of view.blocks || []) {
    if (block.type !== "input") { body.append(renderBlock(block, () => {})); continue; }
    const element = block.element || {};
    const id = `input-${block.block_id}-${element.action_id}`;
    body.append(el("label", { for: id }, escapeHtml(block.label.text)));
    const input = el(element.multiline ? "textarea" : "input", {
      id, rows: element.multiline ? 8 : null, placeholder: element.placeholder ? element.placeholder.text : null,
      "data-block-id": block.block_id, "data-action-id": element.action_id,
    });
    input.value = element.initial_value || "";
    body.append(input);
    if (block.hint) body.append(el("div", { class: "hint" }, textObject(block.hint)));
    if (errors[block.block_id]) body.append(el("div", { class: "field-error", role: "alert" }, escapeHtml(errors[block.block_id])));
  }
  modal.append(body);
  const footer = el("footer");
  const close = el("button", { type: "button" }, escapeHtml(view.close ? view.close.text : "Cancel"));
  close.addEventListener("click", () => act("/workspace/close", { view_id: view.id }));
  const submit = el("button", { type: "button", class: "primary" }, escapeHtml(view.submit ? view.submit.text : "Submit"));
  submit.addEventListener("click", () => submitModal(view, modal));
  footer.append(close, submit);
  modal.append(footer);
  const backdrop = el("div", { class: "backdrop" });
  backdrop.append(modal);
  root.replaceChildren(backdrop);
}

async function submitModal(view, modal) {
  const values = {};
  modal.querySelectorAll("[data-block-id]").forEach((input) => {
    values[input.dataset.blockId] = { ...(values[input.dataset.blockId] || {}), [input.dataset.actionId]: input.value };
  });
  const answer = await act("/workspace/submit", { view_id: view.id, values });
  if (answer && answer.errors) {
    const kept = {};
    modal.querySelectorAll("[data-block-id]").forEach((i) => { kept[i.id] = i.value; });
    page.shownViewKey = null;
    renderModal(answer.errors);
    Object.entries(kept).forEach(([id, value]) => { const i = document.getElementById(id); if (i) i.value = value; });
  }
}

// ---- Talking to the server ------------------------------------------------------------------
async function act(path, body) {
  $("error").textContent = "";
  try {
    const response = await fetch(path, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ user: page.user, ...body }),
    });
    const answer = await response.json();
    if (!answer.ok && answer.error) $("error").textContent = answer.error;
    await poll(true);
    return answer;
  } catch (err) {
    $("error").textContent = `The local stack did not answer: ${err}`;
    return null;
  }
}

async function poll(force = false) {
  try {
    const response = await fetch(`/workspace/state?user=${encodeURIComponent(page.user)}`);
    const state = await response.json();
    if (!force && page.state && state.version === page.shownVersion && state.me === page.state.me) return;
    page.state = state;
    page.shownVersion = state.version;
    render();
  } catch (err) {
    $("error").textContent = `The local stack did not answer: ${err}`;
  }
}

function render() {
  const s = page.state;
  const select = $("as-user");
  if (select.options.length !== s.people.length) {
    select.replaceChildren(...s.people.map((p) => el("option", { value: p.id }, `${escapeHtml(p.name)} (${escapeHtml(p.role)})`)));
  }
  select.value = page.user;
  $("role").textContent = s.people.find((p) => p.id === page.user).role;
  $("command-hint").textContent = s.command;
  const pick = (c) => () => {
    page.channel = c.id; page.home = false; page.threadTs = null;
    localStorage.setItem("signoff.channel", c.id); render();
  };
  $("channels").replaceChildren(...s.channels.map((c) => {
    const b = el("button", { type: "button", class: "channel", "aria-current": String(!page.home && c.id === page.channel) }, `# ${escapeHtml(c.name)}`);
    b.addEventListener("click", pick(c));
    return b;
  }));
  $("dms").replaceChildren(...s.dms.map((d) => {
    const current = !page.home && d.id === page.channel;
    const count = current ? 0 : unread(d);
    const b = el("button", { type: "button", class: `channel${count ? " unread" : ""}`, "aria-current": String(current) }, escapeHtml(personName(d.with)));
    if (count) b.append(el("span", { class: "badge", "aria-label": `${count} unread` }, String(count)));
    b.addEventListener("click", pick(d));
    return b;
  }));
  $("open-home").setAttribute("aria-current", String(page.home));
  renderChannel();
  renderModal();
}

$("open-home").addEventListener("click", openHome);

$("as-user").addEventListener("change", (event) => {
  page.user = event.target.value;
  if (page.home) { page.shownViewKey = null; openHome(); return; }
  localStorage.setItem("signoff.user", page.user);
  page.shownViewKey = null;
  poll(true);
});

$("composer-text").addEventListener("keydown", async (event) => {
  if (event.key === "Escape") { page.threadTs = null; renderChannel(); return; }
  if (event.key !== "Enter" || event.shiftKey) return;
  event.preventDefault();
  const box = event.target;
  const text = box.value;
  if (!text.trim()) return;
  box.value = "";
  await act("/workspace/send", { channel: page.channel, text, thread_ts: page.threadTs });
});

// The suggestions in the sidebar fill the composer (Enter sends).
document.querySelectorAll("button.try").forEach((suggestion) => suggestion.addEventListener("click", () => {
  const box = $("composer-text");
  box.value = suggestion.textContent.replace(/^\/agent/, page.state ? page.state.command : "/agent");
  box.focus();
}));

openPermalink(window.location.pathname);
poll(true);
setInterval(poll, POLL_MS);
