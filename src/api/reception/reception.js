// The reception page's own script (no external asset): the live list of today's check-ins
// (server-sent events), and the copy buttons.
"use strict";
(function () {
  // What is typed, folded as the gateway folds the kana it lists (data-kana): NFKC (half-width
  // katakana to full-width), hiragana to katakana, no spaces.
  function fold(s) {
    return s.normalize("NFKC").replace(/\s/g, "").replace(/[\u3041-\u3096]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) + 0x60);
    });
  }
  // The filter box: rows whose kana, name or 照会番号 contains what is typed, of the status chosen.
  function filter() {
    var rows = document.getElementById("rows");
    var box = document.getElementById("filter");
    var status = document.getElementById("filter-status");
    if (!rows || !box || !status) return function () {};
    var apply = function () {
      var q = fold(box.value);
      var s = status.value;
      Array.prototype.forEach.call(rows.rows, function (tr) {
        var d = tr.dataset;
        var found = q === "" || d.ref.indexOf(q) >= 0 || (d.kana || "").indexOf(q) >= 0 ||
          fold(d.name || "").indexOf(q) >= 0;
        tr.hidden = !(found && (s === "" || d.status === s));
      });
    };
    box.addEventListener("input", apply);
    status.addEventListener("change", apply);
    return apply;
  }
  var applyFilter = function () {};
  function live() {
    var rows = document.getElementById("rows");
    if (!rows || !window.EventSource) return;
    var note = document.getElementById("live");
    var empty = document.getElementById("empty");
    var feed = new EventSource("/reception/events");
    feed.addEventListener("row", function (e) {
      var t = document.createElement("tbody");
      t.innerHTML = e.data; // written and escaped by the gateway
      var row = t.firstElementChild;
      if (!row) return;
      var old = rows.querySelector('tr[data-ref="' + CSS.escape(row.dataset.ref) + '"]');
      if (old) {
        if (Number(old.dataset.seq) >= Number(row.dataset.seq)) return;
        rows.replaceChild(row, old);
      } else {
        rows.insertBefore(row, rows.firstChild);
      }
      row.classList.add("fresh");
      applyFilter();
      if (empty) empty.hidden = true;
      // The time of the change as the gateway tells it (JST), not the PC's clock.
      if (note) note.textContent = "更新 " + (row.dataset.updated || "") + "：照会番号 " + row.dataset.ref;
    });
    feed.addEventListener("reload", function () { location.reload(); });
    feed.addEventListener("signed-out", function () { feed.close(); location.reload(); });
    feed.onerror = function () {
      if (note) note.textContent = "接続が切れました。再接続しています…";
    };
  }
  function copies() {
    document.addEventListener("click", function (e) {
      var b = e.target.closest("button.copy");
      if (!b) return;
      var text = b.dataset.copy;
      var done = function () { b.textContent = "コピーしました"; setTimeout(function () { b.textContent = "コピー"; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {});
      } else {
        var a = document.createElement("textarea");
        a.value = text; document.body.appendChild(a); a.select();
        try { document.execCommand("copy"); done(); } catch (_) {}
        a.remove();
      }
    });
  }
  // 月次点検: the chosen UKE file is sent as it is (its bytes), then the report's page opens;
  // while a check runs, its page reloads itself every second.
  function receipts() {
    var form = document.getElementById("uke-form");
    if (form) {
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var file = document.getElementById("uke-file").files[0];
        var status = document.getElementById("uke-status");
        if (!file) return;
        status.textContent = "送信しています…";
        fetch("/reception/receipts", {
          method: "POST",
          headers: { "content-type": "application/octet-stream", "x-csrf-token": form.dataset.csrf },
          body: file,
          credentials: "same-origin",
        }).then(function (r) {
          return r.json().then(function (v) {
            if (r.ok && v.location) { location.href = v.location; } else { status.textContent = v.message || "点検を始められませんでした。"; }
          });
        }).catch(function () { status.textContent = "ゲートウェイに接続できません。"; });
      });
    }
    if (document.getElementById("uke-progress")) setTimeout(function () { location.reload(); }, 1000);
    document.addEventListener("click", function (e) {
      if (e.target.closest("button.print")) window.print();
    });
  }
  document.addEventListener("DOMContentLoaded", function () { applyFilter = filter(); live(); copies(); receipts(); });
})();
