package main

import (
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// writeHelp prints --help: every argument and flag with its environment
// variable and default, built from Config's tags so that the two cannot
// drift apart.
func writeHelp(w io.Writer) error {
	defaults, err := env.ParseAsWithOptions[Config](env.Options{Prefix: envPrefix, Environment: map[string]string{}})
	if err != nil {
		return fmt.Errorf("wsbridge: defaults: %w", err)
	}
	var b strings.Builder
	b.WriteString(`wsbridge: a WebSocket-to-TCP bridge, a drop-in replacement for websockify.

Usage:
  wsbridge [options] [source_addr:]source_port target_addr:target_port

Options may come before, between and after the arguments, written --opt=V,
--opt V or -opt V. Every argument and option can also be set in the
environment; the command line wins.
`)
	v := reflect.ValueOf(defaults)
	t := v.Type()
	b.WriteString("\nArguments:\n")
	for i := range t.NumField() {
		if f := t.Field(i); f.Tag.Get("flag") == "" {
			entry(&b, f.Tag.Get("arg"), "$"+envPrefix+f.Tag.Get("env"), f.Tag.Get("usage"))
		}
	}
	b.WriteString("\nOptions:\n")
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Tag.Get("flag") == "" {
			continue
		}
		name := "--" + f.Tag.Get("flag")
		if s := f.Tag.Get("short"); s != "" {
			name = "-" + s + ", " + name
		}
		if a := f.Tag.Get("arg"); a != "" {
			name += " " + a
		}
		entry(&b, name, fmt.Sprintf("$%s%s (default: %s)", envPrefix, f.Tag.Get("env"), showDefault(v.Field(i))), f.Tag.Get("usage"))
	}
	entry(&b, "-h, --help", "", "Print this help and exit.")
	entry(&b, "--version", "", "Print the version and exit.")

	var names, envs []string
	for _, u := range unsupportedOptions() {
		n := "--" + u.name
		if u.short != "" {
			n = "-" + u.short + "/" + n
		}
		if u.value != "" {
			n += " " + u.value
		}
		names = append(names, n)
		envs = append(envs, u.env())
	}
	b.WriteString("\n")
	wrap(&b, "", "Not yet supported: these websockify options are accepted, then refused with an error naming them, "+
		"as are their variables and wrap mode. Unlike websockify, an existing ./self.pem does not turn TLS on.")
	wrap(&b, "  ", strings.Join(names, ", ")+", [source_addr:]source_port -- COMMAND.")
	wrap(&b, "  ", strings.Join(envs, ", ")+".")
	b.WriteString(`
Examples:
  wsbridge 8080 localhost:5900
  wsbridge 127.0.0.1:6080 vnc.internal:5901 --heartbeat 30
  WSBRIDGE_LISTEN=:8080 WSBRIDGE_TARGET=localhost:22 wsbridge

Other commands:
  wsbridge echo [addr:port]   message-preserving WebSocket echo server on the
                              codec, for Autobahn|Testsuite (wsbridge echo -h)
  wsbridge client URL         pipe stdin/stdout (or a local port) over a
                              WebSocket, e.g. as ssh's ProxyCommand
                              (wsbridge client -h)
`)
	_, err = io.WriteString(w, b.String())
	return err
}

// entry writes one argument or flag: its name and environment variable on
// a line, its help below.
func entry(b *strings.Builder, name, env, usage string) {
	if env == "" {
		fmt.Fprintf(b, "  %s\n", name)
	} else {
		fmt.Fprintf(b, "  %-30s %s\n", name, env)
	}
	wrap(b, "        ", usage)
}

// showDefault formats a default for --help.
func showDefault(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Bool:
		if v.Bool() {
			return "on"
		}
		return "off"
	case reflect.String:
		if v.String() == "" {
			return "none"
		}
	}
	return fmt.Sprint(v.Interface())
}

// wrap writes text in lines of at most 79 columns, each starting with
// indent.
func wrap(b *strings.Builder, indent, text string) {
	const width = 79
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	if len(line) > len(indent) {
		b.WriteString(line + "\n")
	}
}
