// Package interop holds wsbridge's tests against third-party WebSocket
// peers (npm ws). It has no code of its own; package.json lists the peers,
// which .ci/run installs into node_modules here.
package interop
