package access_test

import (
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"time"

	"wsbridge/access"
)

// The checks a bridge runs before answering 101: websockify's plugin and
// the Origin allow-list, every one of which must pass.
func ExampleAll() {
	basic, err := access.NewAuth("websockify.auth_plugins.BasicHTTPAuth", "alice:s3cret")
	if err != nil {
		panic(err)
	}
	auth := access.All(access.AllowOrigins([]string{"https://vnc.example.com"}), basic)

	r := httptest.NewRequest("GET", "/websockify", nil)
	r.Header.Set("Origin", "https://vnc.example.com")
	if err := auth.Authenticate(r); err != nil {
		var d *access.Denied
		if errors.As(err, &d) {
			status, h := d.Refusal()
			fmt.Println(status, d.Msg, h.Get("WWW-Authenticate"))
		}
	}
	r.SetBasicAuth("alice", "s3cret")
	fmt.Println(auth.Authenticate(r))
	// Output:
	// 401 Unauthorized Basic realm="Websockify"
	// <nil>
}

// The allow-list checks the address really dialled, after resolution.
func ExampleAllowList_Control() {
	allow, err := access.ParseAllowList([]string{"10.0.0.0/8:5900-5999"})
	if err != nil {
		panic(err)
	}
	d := net.Dialer{Timeout: time.Second, Control: allow.Control}
	_, err = d.Dial("tcp", "localhost:22")
	fmt.Println(errors.Is(err, access.ErrTargetNotAllowed))
	// Output: true
}

// Behind a trusted proxy, the client is the first untrusted hop from the
// right; a direct client cannot choose its address.
func ExampleClientIP_Real() {
	c, err := access.NewClientIP([]string{"10.0.0.0/8"})
	if err != nil {
		panic(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.5")
	r.RemoteAddr = "10.0.0.2:40000"
	fmt.Println(c.Real(r))
	r.RemoteAddr = "192.0.2.9:40000"
	fmt.Println(c.Real(r))
	// Output:
	// 203.0.113.5
	// 192.0.2.9
}
