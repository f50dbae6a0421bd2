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
