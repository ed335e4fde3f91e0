/* gsr-assess: saves each questionnaire answer as it changes (progressive enhancement).
 * Without this file every form still works by posting the page. With it, each indicator
 * is saved through the JSON API: one request in flight per indicator, the latest change
 * queued behind it, and a visible state: saving, saved, not saved (retry), conflict. */
(function () {
  "use strict";

  var capnav = document.getElementById("capnav");
  if (capnav && window.matchMedia && window.matchMedia("(min-width: 62rem)").matches) {
    capnav.open = true;
  }

  var textNode = document.getElementById("gsr-text");
  if (!textNode || !window.fetch || !window.JSON) return;
  var T = JSON.parse(textNode.textContent);
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = meta ? meta.getAttribute("content") : "";
  var TEXT_DELAY = 800;
  var TIMEOUT = 45000;
  var FIELDS = ["answer", "justification", "evidence_notes", "evidence_links", "confidence"];
  var all = [];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function formatWhen(value) {
    var lang = document.documentElement.lang || "en";
    try {
      return new Date(value).toLocaleString(lang === "en" ? "en-GB" : lang, {
        dateStyle: "medium", timeStyle: "short"
      });
    } catch (error) {
      return value;
    }
  }

  function lines(text) {
    return text.split(/\r?\n/).map(function (s) { return s.trim(); })
      .filter(function (s) { return s.length > 0; });
  }

  function Indicator(form) {
    this.form = form;
    this.api = form.getAttribute("data-api");
    this.version = form.querySelector('input[name="version"]');
    this.stateNode = form.querySelector("[data-save-state]");
    this.conflictNode = form.querySelector("[data-conflict]");
    this.retryButton = el("button", { type: "button", "class": "button button--quiet button--small", text: T.retry });
    this.retryButton.hidden = true;
    this.stateNode.parentNode.appendChild(this.retryButton);
    this.timer = null;
    this.inFlight = false;
    this.queued = false;
    this.suspended = false;
    this.dirty = false;
    this.failed = false;
    this.bind();
  }

  Indicator.prototype.bind = function () {
    var self = this;
    this.form.addEventListener("input", function (event) {
      if (event.target.tagName === "TEXTAREA") { self.touch(); self.schedule(TEXT_DELAY); }
    });
    this.form.addEventListener("change", function (event) {
      self.touch();
      self.schedule(0);
    });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.touch();
      self.schedule(0);
    });
    this.retryButton.addEventListener("click", function () { self.schedule(0); });
  };

  Indicator.prototype.touch = function () {
    this.dirty = true;
    // What is on screen now differs from what the server holds: say so until it is saved.
    if (!this.inFlight && !this.suspended) this.setState("pending", T.pending);
  };

  Indicator.prototype.schedule = function (delay) {
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.save(); }, delay);
  };

  Indicator.prototype.values = function () {
    var form = this.form;
    var checked = form.querySelector('input[name="answer"]:checked');
    return {
      answer: checked ? checked.value : "",
      justification: form.elements.justification.value,
      evidence_notes: form.elements.evidence_notes.value,
      evidence_links: form.elements.evidence_links.value,
      confidence: form.elements.confidence.value
    };
  };

  Indicator.prototype.payload = function () {
    var v = this.values();
    var isLevel = /^\d+$/.test(v.answer);
    return {
      version: parseInt(this.version.value, 10) || 0,
      response: isLevel ? "level" : v.answer,
      level: isLevel ? parseInt(v.answer, 10) : null,
      justification: v.justification,
      evidence_notes: v.evidence_notes,
      evidence_links: lines(v.evidence_links),
      confidence: v.confidence || null
    };
  };

  // An answer's content as one string, to tell whether two states are the same answer.
  function contentKey(answer) {
    answer = answer || {};
    return JSON.stringify([
      answer.response || "", answer.response === "level" ? answer.level : null,
      (answer.justification || "").trim(), (answer.evidence_notes || "").trim(),
      (answer.evidence_links || []).map(function (s) { return s.trim(); }),
      answer.confidence || null
    ]);
  }

  Indicator.prototype.setState = function (state, text) {
    this.stateNode.setAttribute("data-state", state);
    this.stateNode.textContent = text;
    this.retryButton.hidden = state !== "failed";
    this.failed = state === "failed";
  };

  Indicator.prototype.save = function () {
    clearTimeout(this.timer);
    if (this.suspended) return;
    if (this.inFlight) { this.queued = true; return; }
    if (!this.values().answer) {
      this.setState("invalid", T.choose);
      return;
    }
    this.send(this.payload());
  };

  Indicator.prototype.send = function (payload) {
    var self = this;
    var controller = window.AbortController ? new AbortController() : null;
    var timeout = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT) : null;
    this.inFlight = true;
    this.queued = false;
    this.dirty = false;
    this.setState("saving", T.saving);
    fetch(this.api, {
      method: "PUT",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": csrfToken
      },
      body: JSON.stringify(payload),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        self.handle(response.status, data, payload);
      });
    }).catch(function () {
      self.dirty = true;
      self.queued = false;
      self.setState("failed", T.failed);
    }).then(function () {
      clearTimeout(timeout);
      self.inFlight = false;
      // A newer state of the form waits: send it now. After a failure the retry (or the
      // next change, or coming back online) sends it instead.
      if (self.queued && !self.suspended && !self.failed) self.save();
    });
  };

  Indicator.prototype.handle = function (status, data, payload) {
    // Did the user change anything while this request was in flight? Then its answer is
    // about a state no longer on screen: the newest state must be sent, never dropped.
    var newer = contentKey(this.payload()) !== contentKey(payload);
    if (newer) this.dirty = true;
    if (status === 200 && data) {
      this.version.value = data.version;
      var carried = this.form.querySelector("[data-carried]");
      if (carried && !data.carried_over) carried.parentNode.removeChild(carried);
      this.clearErrors();
      if (newer) { this.queued = true; } else { this.dirty = false; this.setState("saved", T.saved); }
      return;
    }
    if (status === 409 && data && data.error) {
      var current = data.error.current;
      if (current && contentKey(current) === contentKey(payload)) {
        // Our own earlier save landed though its answer never came back (a dropped
        // connection): take its version and carry on from there.
        this.version.value = current.version;
        if (newer) { this.queued = true; } else { this.dirty = false; this.setState("saved", T.saved); }
        return;
      }
      this.dirty = true;
      this.queued = false;
      this.showConflict(current, this.payload());
      return;
    }
    this.dirty = true;
    if (status === 422 && data && data.error) {
      if (newer) {
        // The refusal was of an older state: its errors no longer apply, send the new one.
        this.clearErrors();
        this.queued = true;
        return;
      }
      this.queued = false;
      this.showErrors(data.error.fields || [{ field: data.error.field || "", reason: data.error.message || "" }]);
      this.setState("invalid", T.invalid);
      return;
    }
    this.queued = false;
    if (status === 401) {
      this.setState("failed", T.loggedOut);
    } else if (status === 403 || status === 404) {
      this.setState("failed", T.forbidden);
    } else {
      this.setState("failed", T.failed);
    }
  };

  Indicator.prototype.clearErrors = function () {
    var form = this.form;
    FIELDS.forEach(function (field) {
      var node = form.querySelector('[data-error-for="' + field + '"]');
      if (node) node.textContent = "";
    });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (node) {
      node.removeAttribute("aria-invalid");
    });
    Array.prototype.forEach.call(form.querySelectorAll(".field--invalid"), function (node) {
      node.classList.remove("field--invalid");
    });
  };

  Indicator.prototype.showErrors = function (fields) {
    var form = this.form;
    this.clearErrors();
    fields.forEach(function (item) {
      var name = String(item.field || "").split(".")[0];
      if (name === "level" || name === "response") name = "answer";
      if (FIELDS.indexOf(name) < 0) name = "answer";
      var message = T.fieldErrors[name] || "";
      var line = /link (\d+):/.exec(item.reason || "");
      if (name === "evidence_links" && line) message = T.linkLine.replace("{line}", line[1]);
      if (name === "justification" && /at most/.test(item.reason || "")) message = T.tooLong;
      if (name === "evidence_notes") message = T.tooLong;
      var node = form.querySelector('[data-error-for="' + name + '"]');
      if (node && !node.textContent) node.textContent = T.errorPrefix + " " + message;
      var control = form.elements[name];
      if (control && control.setAttribute) control.setAttribute("aria-invalid", "true");
      if (node && node.parentNode) node.parentNode.classList.add("field--invalid");
    });
  };

  Indicator.prototype.choiceLabel = function (response, level) {
    if (!response) return T.noAnswer;
    var value = response === "level" ? String(level) : response;
    var input = this.form.querySelector('input[name="answer"][value="' + value + '"]');
    var name = input && input.parentNode.querySelector(".choice__name");
    return name ? name.textContent : value;
  };

  Indicator.prototype.confidenceLabel = function (value) {
    if (!value) return T.none;
    var option = this.form.querySelector('select[name="confidence"] option[value="' + value + '"]');
    return option ? option.textContent : value;
  };

  Indicator.prototype.describe = function (answer) {
    answer = answer || {};
    var links = answer.evidence_links || [];
    return {
      answer: this.choiceLabel(answer.response, answer.level),
      justification: answer.justification || T.none,
      evidence_notes: answer.evidence_notes || T.none,
      evidence_links: links.length ? links.join("\n") : T.none,
      confidence: this.confidenceLabel(answer.confidence)
    };
  };

  Indicator.prototype.column = function (title, shown, note, kind) {
    var list = el("dl");
    FIELDS.forEach(function (field) {
      list.appendChild(el("dt", { text: T.labels[field] }));
      list.appendChild(el("dd", { text: shown[field], "data-field": field }));
    });
    return el("section", { "data-version": kind }, [
      el("h3", { text: title }),
      note ? el("p", { "class": "small muted", text: note }) : null,
      list
    ]);
  };

  Indicator.prototype.showConflict = function (current, mine) {
    var self = this;
    this.suspended = true;
    var node = this.conflictNode;
    while (node.firstChild) node.removeChild(node.firstChild);
    var when = current && current.updated_at ? formatWhen(current.updated_at) : "";
    var note = current ? T.changedBy.replace("{name}", current.updated_by || "?").replace("{when}", when) : "";
    var heading = el("h3", { text: T.conflictTitle, tabindex: "-1" });
    var keep = el("button", { type: "button", "class": "button button--quiet", "data-action": "keep-theirs", text: T.keepTheirs });
    var use = el("button", { type: "button", "class": "button", "data-action": "use-mine", text: T.useMine });
    node.appendChild(heading);
    node.appendChild(el("p", { text: T.conflictHelp }));
    node.appendChild(el("div", { "class": "compare" }, [
      this.column(T.theirs, this.describe(current), note, "theirs"),
      this.column(T.yours, this.describe(mine), "", "mine")
    ]));
    node.appendChild(el("div", { "class": "actions" }, [keep, use]));
    node.hidden = false;
    this.setState("conflict", T.conflict);
    heading.focus();
    keep.addEventListener("click", function () {
      self.apply(current);
      self.version.value = current ? current.version : 0;
      self.closeConflict();
      self.dirty = false;
      self.setState("saved", T.saved);
    });
    use.addEventListener("click", function () {
      self.version.value = current ? current.version : 0;
      self.closeConflict();
      self.save();
    });
  };

  Indicator.prototype.closeConflict = function () {
    this.suspended = false;
    this.conflictNode.hidden = true;
    while (this.conflictNode.firstChild) this.conflictNode.removeChild(this.conflictNode.firstChild);
  };

  Indicator.prototype.apply = function (answer) {
    var form = this.form;
    answer = answer || {};
    var value = answer.response === "level" ? String(answer.level) : (answer.response || "");
    Array.prototype.forEach.call(form.querySelectorAll('input[name="answer"]'), function (input) {
      input.checked = input.value === value;
    });
    form.elements.justification.value = answer.justification || "";
    form.elements.evidence_notes.value = answer.evidence_notes || "";
    form.elements.evidence_links.value = (answer.evidence_links || []).join("\n");
    form.elements.confidence.value = answer.confidence || "";
    this.clearErrors();
  };

  Array.prototype.forEach.call(document.querySelectorAll("form.answer-form[data-api]"), function (form) {
    all.push(new Indicator(form));
  });

  // Review marks: set or cleared through the API without leaving the page, so answers
  // being typed elsewhere on it are never lost to a page load.
  function ReviewFlag(form) {
    this.form = form;
    this.box = form.parentNode;
    this.api = form.getAttribute("data-flag-api");
    this.action = form.querySelector('input[name="action"]');
    this.button = form.querySelector("[data-flag-button]");
    this.message = form.querySelector("[data-flag-message]");
    this.note = form.querySelector('input[name="note"]');
    var self = this;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.send();
    });
  }

  ReviewFlag.prototype.send = function () {
    var self = this;
    var clearing = this.action.value === "clear";
    this.button.disabled = true;
    this.message.textContent = T.saving;
    fetch(this.api, {
      method: clearing ? "DELETE" : "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrfToken },
      body: clearing ? undefined : JSON.stringify({ note: this.note ? this.note.value : "" })
    }).then(function (response) {
      if (clearing && response.status === 204) return self.show(null);
      if (!clearing && response.status === 200) return response.json().then(function (flag) { self.show(flag); });
      throw new Error("refused");
    }).catch(function () {
      self.message.textContent = T.flagFailed;
    }).then(function () {
      self.button.disabled = false;
    });
  };

  ReviewFlag.prototype.show = function (flag) {
    var state = this.box.querySelector("[data-flag-state]");
    var who = this.box.querySelector("[data-flag-who]");
    var note = this.box.querySelector("[data-flag-note]");
    var fresh = this.box.querySelector("[data-flag-new]");
    if (flag) {
      who.textContent = T.flaggedBy.replace("{name}", flag.flagged_by || "?").replace("{when}", formatWhen(flag.flagged_at));
      note.textContent = flag.note || "";
      this.box.setAttribute("data-flagged", "");
    } else {
      this.box.removeAttribute("data-flagged");
      if (this.note) this.note.value = "";
    }
    // The "Marked for review" filter counts this capability's marks: keep it true.
    var count = document.querySelector('[data-filter="flagged"] .status-counts__n');
    var was = this.box.hasAttribute("data-was-flagged");
    if (count && was !== !!flag) count.textContent = String(Math.max(0, (parseInt(count.textContent, 10) || 0) + (flag ? 1 : -1)));
    if (flag) this.box.setAttribute("data-was-flagged", ""); else this.box.removeAttribute("data-was-flagged");
    state.hidden = !flag;
    if (fresh) fresh.hidden = !!flag;
    this.action.value = flag ? "clear" : "set";
    this.button.textContent = flag ? T.clearMark : T.markForReview;
    this.message.textContent = flag ? T.marked : T.markCleared;
  };

  Array.prototype.forEach.call(document.querySelectorAll("form[data-flag-api]"), function (form) {
    new ReviewFlag(form);
  });

  window.addEventListener("online", function () {
    all.forEach(function (item) { if (item.failed) item.schedule(0); });
  });
  window.addEventListener("beforeunload", function (event) {
    var pending = all.some(function (item) { return item.inFlight || item.queued || (item.dirty && item.values().answer); });
    if (pending) { event.preventDefault(); event.returnValue = T.unsaved; return T.unsaved; }
  });
})();
