// The playground page: every text a person or the bot wrote is inserted with
// textContent (never as HTML). The room arrives over server-sent events.
"use strict";

const state = { posts: new Map(), channel: "general", thread: null, info: null };
const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function me() {
  return ($("name").value || "").trim() || "you";
}

function key() {
  return (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)).replace(/[^\w-]/g, "");
}

function renderPost(post, inThread) {
  const li = el("li", "post");
  li.dataset.id = post.id;
  if (post.private) li.classList.add("private");
  if (post.error) li.classList.add("error");
  li.append(el("span", "who", post.author), el("span", "text", post.text));
  const by = post.requester ? "requested by " + post.requester : "";
  const line = [by, post.state].filter(Boolean).join(" · ");
  if (line) li.append(el("span", "state", line));
  if (post.image) {
    const img = el("img");
    img.src = "/play/" + post.image;
    img.alt = post.text;
    li.append(img);
  }
  for (const line of post.detail || []) li.append(el("div", "detail", "⚠ " + line));
  if (post.buttons && post.job) {
    const row = el("div", "buttons");
    const presses = post.error ? [["retry", "Retry"]] :
      [["retry", "Retry"], ["vary", "Vary"], ["upscale", "Upscale 4K"]];
    for (const [press, label] of presses) {
      const b = el("button", "press-" + press, label);
      b.type = "button";
      b.addEventListener("click", () => pressed(post, press));
      row.append(b);
    }
    li.append(row);
  }
  if (!inThread && !post.thread && !post.private) {
    const replies = [...state.posts.values()].filter((p) => p.thread === post.id).length;
    if (post.job || replies) {
      const open = el("button", "open-thread", replies ? `Thread (${replies})` : "Open thread");
      open.type = "button";
      open.addEventListener("click", () => openThread(post.id));
      li.append(open);
    }
  }
  return li;
}

function render() {
  const list = $("posts");
  list.replaceChildren();
  for (const post of state.posts.values()) {
    if (post.channel === state.channel && !post.thread) list.append(renderPost(post, false));
  }
  list.scrollTop = list.scrollHeight;
  $("channel-name").textContent = "#" + state.channel;
  for (const li of $("channels").children) li.classList.toggle("on", li.dataset.name === state.channel);
  const view = $("thread-view");
  view.hidden = !state.thread;
  if (state.thread) {
    const posts = $("thread-posts");
    posts.replaceChildren();
    const root = state.posts.get(state.thread);
    if (root) posts.append(renderPost(root, true));
    for (const post of state.posts.values()) {
      if (post.thread === state.thread) posts.append(renderPost(post, true));
    }
    posts.scrollTop = posts.scrollHeight;
  }
}

function openThread(id) {
  state.thread = id;
  render();
  $("thread-text").focus();
}

async function send(form, fields) {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) if (value) body.append(name, value);
  const file = form.querySelector("input[type=file]");
  if (file && file.files.length) body.append("file", file.files[0], file.files[0].name);
  body.append("key", key());
  const answer = await fetch("/play/say", { method: "POST", body, headers: { "X-Playground-User": me() } });
  if (answer.ok && file) file.value = "";
  if (answer.status >= 400) {  // refused before it reached the room (e.g. a file too large)
    const said = await answer.json().catch(() => ({}));
    notice(said.said || "That didn't go through — please try again.");
  }
  return answer;
}

function notice(words) {
  const bar = $("notice");
  bar.textContent = words;
  bar.hidden = false;
  setTimeout(() => { bar.hidden = true; }, 8000);
}

async function pressed(post, press) {
  // where the button is: a job's buttons act only in its own channel and thread
  const where = { job: post.job, channel: post.channel, thread: post.thread };
  await fetch("/play/press", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Playground-User": me() },
    body: JSON.stringify({ ...where, press, key: key() }),
  });
}

function connect() {
  const stream = new EventSource("/play/events?user=" + encodeURIComponent(me()));
  stream.onopen = () => { $("live").textContent = "live"; $("live").classList.add("ok"); };
  stream.onerror = () => { $("live").textContent = "reconnecting…"; $("live").classList.remove("ok"); };
  stream.onmessage = (message) => {
    const change = JSON.parse(message.data);
    if (change.room) {
      state.posts = new Map(change.room.map((p) => [p.id, p]));
    } else if (change.post) {
      state.posts.set(change.post.id, change.post);
    } else if (change.removed) {
      state.posts.delete(change.removed);
    }
    render();
  };
  return stream;
}

async function faultPanel(info) {
  if (!info.sandbox) return;
  $("sandbox").hidden = false;
  $("faults").hidden = false;
  const rows = $("fault-rows");
  for (const model of info.models) {
    if (!(model in info.faults)) continue;
    const row = el("div", "fault-row");
    const label = el("label", "", model);
    const pick = el("select");
    pick.dataset.model = model;
    for (const kind of info.fault_kinds) {
      const option = el("option", "", kind);
      option.value = kind;
      option.selected = info.faults[model] === kind;
      pick.append(option);
    }
    pick.addEventListener("change", () => fetch("/play/fault", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model, kind: pick.value }),
    }));
    label.append(pick);
    row.append(label);
    rows.append(row);
  }
}

async function start() {
  $("name").value = localStorage.getItem("playground-name") || "you";
  const info = await (await fetch("/play/info")).json();
  state.info = info;
  for (const name of info.channels) {
    const li = el("li", "", "#" + name);
    li.dataset.name = name;
    li.addEventListener("click", () => { state.channel = name; state.thread = null; render(); });
    $("channels").append(li);
  }
  await faultPanel(info);
  let stream = connect();
  $("name").addEventListener("change", () => {
    localStorage.setItem("playground-name", me());
    stream.close();
    stream = connect();
  });
  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    const answer = await send($("composer"), {
      channel: state.channel, text, aspect: $("aspect").value, size: $("size").value,
    });
    if (answer.status < 500) $("text").value = "";
  });
  $("thread-composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("thread-text").value.trim();
    const root = state.posts.get(state.thread);
    if (!text || !root) return;
    const answer = await send($("thread-composer"), { channel: root.channel, thread: root.id, text });
    if (answer.status < 500) $("thread-text").value = "";
  });
  $("close-thread").addEventListener("click", () => { state.thread = null; render(); });
  render();
}

start();
