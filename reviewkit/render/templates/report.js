(function () {
  "use strict";
  var body = document.body;

  function openAncestors(el) {
    for (var p = el; p; p = p.parentElement) {
      if (p.tagName === "DETAILS") { p.open = true; }
    }
  }

  function showTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (el) { openAncestors(el); el.scrollIntoView({block: "start"}); }
  }
  window.addEventListener("hashchange", showTarget);
  if (location.hash) { showTarget(); }

  var only = document.getElementById("only-findings");
  only.addEventListener("change", function () { body.classList.toggle("only-findings", only.checked); });

  function setAll(open) {
    var all = document.querySelectorAll("details.patch, details.file");
    for (var i = 0; i < all.length; i++) { all[i].open = open; }
  }
  document.getElementById("expand-all").addEventListener("click", function () { setAll(true); });
  document.getElementById("collapse-all").addEventListener("click", function () { setAll(false); });

  var findings = Array.prototype.slice.call(document.querySelectorAll("#patches .finding.k-finding, #overview .finding.k-finding"));
  var current = -1;

  function visible(el) {
    return !(body.classList.contains("only-findings") && el.closest("section.patch.clean"));
  }

  function go(step) {
    if (!findings.length) { return; }
    var i = current;
    for (var n = 0; n < findings.length; n++) {
      i = (i + step + findings.length) % findings.length;
      if (visible(findings[i])) { break; }
    }
    current = i;
    var el = findings[i];
    openAncestors(el);
    el.scrollIntoView({block: "center"});
    if (history.replaceState) { history.replaceState(null, "", "#" + el.id); }
    el.classList.add("flash");
    setTimeout(function () { el.classList.remove("flash"); }, 600);
  }
  document.getElementById("next-finding").addEventListener("click", function () { go(1); });
  document.getElementById("prev-finding").addEventListener("click", function () { go(-1); });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var t = e.target && e.target.tagName;
    if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT") { return; }
    if (e.key === "j") { go(1); } else if (e.key === "k") { go(-1); }
  });

  var links = document.querySelectorAll(".side li a");
  var byId = {};
  for (var i = 0; i < links.length; i++) { byId[links[i].getAttribute("href").slice(1)] = links[i]; }
  if ("IntersectionObserver" in window) {
    var shown = null;
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (en) {
        if (en.isIntersecting && byId[en.target.id]) {
          if (shown) { shown.classList.remove("current"); }
          shown = byId[en.target.id];
          shown.classList.add("current");
        }
      });
    }, {rootMargin: "-60px 0px -70% 0px"});
    document.querySelectorAll("section.patch").forEach(function (s) { io.observe(s); });
  }
})();
