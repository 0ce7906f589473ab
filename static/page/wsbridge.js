// Fills in the connection details from the address this page was loaded
// from: the bridge serves WebSockets on the same host and port.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var secure = location.protocol === "https:";

  var ws = document.getElementById("ws-url");
  if (ws) {
    // location.host keeps the port and the brackets of an IPv6 literal.
    ws.textContent = (secure ? "wss://" : "ws://") + location.host + "/websockify";
  }

  var novnc = document.getElementById("novnc-url");
  if (novnc) {
    var q = new URLSearchParams({
      host: location.hostname,
      port: location.port || (secure ? "443" : "80"),
      path: "websockify"
    });
    if (secure) {
      q.set("encrypt", "1");
    }
    novnc.textContent = "vnc.html?" + q.toString();
  }
});
