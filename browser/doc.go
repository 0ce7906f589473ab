// Package browser holds wsbridge's real-browser end-to-end test: Debian's
// noVNC in headless Chromium (driven by npm puppeteer-core from
// novnc.mjs) through the wsbridge binary to a TigerVNC server (Xvnc). It
// has no code of its own; package.json pins the driver, which .ci/run
// installs into node_modules here, and .ci/run installs the Debian
// packages (chromium, novnc, tigervnc-standalone-server, xterm,
// x11-xserver-utils).
package browser
