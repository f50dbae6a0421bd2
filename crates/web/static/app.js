// Progressive enhancement only: every form works without this file.
// A "获取验证码" button rendered with data-cooldown="N" counts down N seconds before it can be
// pressed again (the server enforces the same limit).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-cooldown]").forEach(function (btn) {
    var left = parseInt(btn.getAttribute("data-cooldown"), 10) || 0;
    if (left <= 0) return;
    var label = btn.textContent;
    var tick = function () {
      if (left <= 0) { btn.disabled = false; btn.textContent = label; return; }
      btn.disabled = true; btn.textContent = left + "秒后重新获取"; left -= 1;
      setTimeout(tick, 1000);
    };
    tick();
  });
});

// 打印授权委托书: a button with data-print opens the print dialog.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (btn) {
    btn.addEventListener("click", function () { window.print(); });
  });
});

// Upload progress: forms with data-upload are sent with XMLHttpRequest so a progress bar can
// move; the server answers with the uploads page, which replaces this one. Without script the
// forms submit normally.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      var input = form.querySelector("input[type=file]");
      if (!window.FormData || !input || !input.files || !input.files.length) return;
      ev.preventDefault();
      var bar = form.querySelector("progress");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (bar && e.lengthComputable) { bar.hidden = false; bar.value = Math.round(e.loaded * 100 / e.total); }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status < 400) { window.location.replace(xhr.responseURL || window.location.href); return; }
        document.open(); document.write(xhr.responseText); document.close();
      });
      xhr.addEventListener("error", function () { form.submit(); });
      xhr.send(new FormData(form));
    });
  });
});

// After a refused form, bring the first field with a message into view and focus it.
document.addEventListener("DOMContentLoaded", function () {
  var bad = document.querySelector("[aria-invalid=true]");
  if (!bad) return;
  bad.scrollIntoView({ block: "center" });
  bad.focus({ preventScroll: true });
});

// Staff review: buttons with data-zoom / data-rotate="IMG_ID" zoom or turn a scan by 90°.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-zoom]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var img = document.getElementById(btn.getAttribute("data-zoom"));
      if (img) img.classList.toggle("zoomed");
    });
  });
  document.querySelectorAll("[data-rotate]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var img = document.getElementById(btn.getAttribute("data-rotate"));
      if (!img) return;
      var deg = ((parseInt(img.getAttribute("data-deg"), 10) || 0) + 90) % 360;
      img.setAttribute("data-deg", deg);
      img.style.transform = "rotate(" + deg + "deg)";
    });
  });
});

// Narrow screens: each cell of a table inside .scroll learns its column heading
// (data-label), and the table is marked "stack" so the stylesheet can show one block per row.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".scroll table").forEach(function (table) {
    var heads = [].map.call(table.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
    if (!heads.length) return;
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      [].forEach.call(tr.children, function (td, i) {
        if (!td.hasAttribute("data-label") && heads[i]) td.setAttribute("data-label", heads[i]);
      });
    });
    table.classList.add("stack");
  });
});
