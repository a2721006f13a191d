package a2a

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// Methods are the A2A method names the gateway knows: v0.3 JSON-RPC names
// and v1.0 names (JSON-RPC, and the operations of the REST binding).
var Methods = map[string]bool{
	// v0.3
	"message/send": true, "message/stream": true, "tasks/get": true, "tasks/cancel": true,
	"tasks/resubscribe": true, "tasks/pushNotificationConfig/set": true, "tasks/pushNotificationConfig/get": true,
	"tasks/pushNotificationConfig/list": true, "tasks/pushNotificationConfig/delete": true,
	"agent/getAuthenticatedExtendedCard": true,
	// v1.0
	"SendMessage": true, "SendStreamingMessage": true, "GetTask": true, "ListTasks": true, "CancelTask": true,
	"SubscribeToTask": true, "CreateTaskPushNotificationConfig": true, "GetTaskPushNotificationConfig": true,
	"ListTaskPushNotificationConfigs": true, "DeleteTaskPushNotificationConfig": true, "GetExtendedAgentCard": true,
}

// MaxPeek bounds how much of a JSON-RPC body is read to find its method.
const MaxPeek = 1 << 20

// Version returns "0.3" or "1.0" for a known method name, "" otherwise.
func Version(method string) string {
	if !Methods[method] {
		return ""
	}
	if strings.Contains(method, "/") {
		return "0.3"
	}
	return "1.0"
}

// ParseMethod reads the JSON-RPC "method" of a request body without
// consuming it: it returns the method ("" if the body is not a JSON-RPC
// request object or the method is not within the first limit bytes) and a
// reader yielding the whole body again. Only as much of the body as needed
// is read.
func ParseMethod(body io.Reader, limit int) (string, io.Reader) {
	var seen bytes.Buffer
	dec := json.NewDecoder(io.TeeReader(io.LimitReader(body, int64(limit)), &seen))
	method := scanMethod(dec)
	return method, io.MultiReader(bytes.NewReader(seen.Bytes()), body)
}

func scanMethod(dec *json.Decoder) string {
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		key, ok := t.(string)
		if !ok {
			return ""
		}
		if key == "method" {
			v, err := dec.Token()
			if err != nil {
				return ""
			}
			s, _ := v.(string)
			return s
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}

// RESTMethod names the A2A operation of a REST (HTTP+JSON) binding request
// from its method and path, v1.0 and v0.3 (/v1/…) alike; "" when the path
// is not an A2A REST operation.
func RESTMethod(method, path string) string {
	path = strings.TrimSuffix(path, "/")
	last := path[strings.LastIndexByte(path, '/')+1:]
	switch {
	case strings.HasSuffix(path, "/message:send"):
		return "SendMessage"
	case strings.HasSuffix(path, "/message:stream"):
		return "SendStreamingMessage"
	case strings.HasSuffix(last, ":cancel") && strings.Contains(path, "/tasks/"):
		return "CancelTask"
	case strings.HasSuffix(last, ":subscribe") && strings.Contains(path, "/tasks/"):
		return "SubscribeToTask"
	case strings.Contains(path, "/pushNotificationConfigs"):
		switch {
		case method == http.MethodPost:
			return "CreateTaskPushNotificationConfig"
		case method == http.MethodDelete:
			return "DeleteTaskPushNotificationConfig"
		case last == "pushNotificationConfigs":
			return "ListTaskPushNotificationConfigs"
		}
		return "GetTaskPushNotificationConfig"
	case last == "extendedAgentCard" || path == "/v1/card" || strings.HasSuffix(path, "/v1/card"):
		return "GetExtendedAgentCard"
	case method == http.MethodGet && last == "tasks":
		return "ListTasks"
	case method == http.MethodGet && strings.HasSuffix(path[:max(0, len(path)-len(last)-1)], "/tasks") && last != "":
		return "GetTask"
	}
	return ""
}

// logSafe returns method for the access log: as is when it is a plausible
// method name (at most 64 of [A-Za-z0-9/_.:-]), "unknown" when there is
// none (as agentgateway), else "invalid".
func logSafe(method string) string {
	if method == "" {
		return "unknown"
	}
	if len(method) > 64 {
		return "invalid"
	}
	for i := 0; i < len(method); i++ {
		c := method[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && strings.IndexByte("/_.:-", c) < 0 {
			return "invalid"
		}
	}
	return method
}
