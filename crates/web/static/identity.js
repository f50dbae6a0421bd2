// 经办人在线认证, PC page: polls the status while the phone works, so the page moves on by
// itself (已扫码 → 证件已上传 → 认证通过 / 认证失败) and enables 下一步. Without script the page
// still works by reloading.
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("idv");
  if (!root) return;
  var url = root.getAttribute("data-status-url");
  var $ = function (id) { return document.getElementById(id); };
  var order = ["issued", "scanned", "uploaded", "passed"];
  var show = function (el, on) { if (el) el.hidden = !on; };
  var paint = function (v) {
    root.setAttribute("data-status", v.status);
    $("idv-label").textContent = v.label;
    var rank = order.indexOf(v.status);
    if (v.status === "failed") rank = 3;
    $("idv-step-scanned").className = rank >= 1 ? "on" : "";
    $("idv-step-uploaded").className = rank >= 2 ? "on" : "";
    $("idv-step-done").className = v.status === "passed" ? "on" : (v.status === "failed" ? "bad" : "");
    $("idv-step-done").textContent = v.status === "failed" ? "认证失败" : (v.status === "passed" ? "认证通过" : "认证通过 / 认证失败");
    show($("idv-qr"), v.status === "issued");
    show($("idv-expired"), v.status === "expired");
    var reason = $("idv-reason");
    reason.textContent = v.reason || "";
    show(reason, !!v.reason);
    var table = $("idv-carrier");
    var body = table.querySelector("tbody");
    while (body.firstChild) body.removeChild(body.firstChild);
    (v.carrier || []).forEach(function (c) {
      var tr = document.createElement("tr");
      tr.className = c.matched ? "ok" : "bad";
      [c.role, c.phone_masked].forEach(function (t) {
        var td = document.createElement("td"); td.textContent = t; tr.appendChild(td);
      });
      var td = document.createElement("td");
      td.textContent = c.matched ? "一致" : "不一致";
      if (!c.matched) {
        var adv = document.createElement("div"); adv.className = "idv-advice"; adv.textContent = v.advice; td.appendChild(adv);
      }
      tr.appendChild(td);
      body.appendChild(tr);
    });
    show(table, (v.carrier || []).length > 0);
    show($("idv-passed"), v.passed);
    show($("idv-retry"), v.status === "failed");
    show($("idv-renew"), !v.passed);
    $("idv-next").disabled = !v.passed;
    if (v.next) {
      $("idv-next-form").setAttribute("action", v.next);
      $("idv-pay").setAttribute("href", v.next);
    }
  };
  var timer = null;
  var poll = function () {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onload = function () {
      if (xhr.status === 200) {
        try {
          var v = JSON.parse(xhr.responseText);
          paint(v);
          if (v.passed || v.status === "failed" || v.status === "expired") return;
        } catch (e) { /* keep polling */ }
      }
      timer = setTimeout(poll, 1500);
    };
    xhr.onerror = function () { timer = setTimeout(poll, 3000); };
    xhr.send();
  };
  var s = root.getAttribute("data-status");
  if (s !== "passed") timer = setTimeout(poll, 1500);
});
