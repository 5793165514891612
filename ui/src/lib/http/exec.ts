// A terminal over the API's WebSocket (api/v1/containers/{ref}/exec, src/sinks/api/terminal.rs), behind the same
// ExecSession interface as the desktop's IPC terminal, so the Terminal tab works unchanged. The server's first
// message says the shell started (or why it could not); then output comes as binary messages and typed bytes go
// back as binary messages, resizes as JSON; the last message says how the session ended. Closing the session
// closes the socket, and the server hangs the shell up.
import type { ExecEnd } from "../bindings/ExecEnd";
import type { ExecHandlers, ExecRequest, ExecSession } from "../ipc";

/** The server's text messages. */
type ServerMessage =
  | { type: "started"; shell: string }
  | { type: "error"; message: string }
  | { type: "end"; exit_code: number | null; message: string };

/** Why a socket that closed before the terminal started did not open, when the server could not say. */
export const NOT_OPENED =
  "the terminal could not be opened: the server refused the connection (signed out, actions off, or the container is gone)";

/** Opens a terminal on `url` (a ws:// or wss:// URL) with the session's subprotocols. */
export function openExec(url: string, protocols: string[], request: ExecRequest, handlers: ExecHandlers): Promise<ExecSession> {
  const query = new URLSearchParams({ cols: String(request.cols), rows: String(request.rows) });
  if (request.shell) query.set("shell", request.shell);
  const socket = new WebSocket(`${url}?${query}`, protocols);
  socket.binaryType = "arraybuffer";
  let ended = false;
  const end = (how: ExecEnd) => {
    if (ended) return;
    ended = true;
    handlers.end(how);
  };
  const send = async (data: string | Uint8Array) => {
    if (socket.readyState !== WebSocket.OPEN) throw new Error("the terminal session has ended: reconnect to open a new one");
    // A copy on its own ArrayBuffer: what the terminal hands over may be a view into a shared buffer.
    socket.send(typeof data === "string" ? data : new Uint8Array(data));
  };
  return new Promise((resolve, reject) => {
    let started = false;
    socket.onmessage = (event) => {
      if (event.data instanceof ArrayBuffer) {
        handlers.output(new Uint8Array(event.data));
        return;
      }
      let message: ServerMessage;
      try {
        message = JSON.parse(String(event.data)) as ServerMessage;
      } catch {
        return;
      }
      if (message.type === "started" && !started) {
        started = true;
        resolve({
          shell: message.shell,
          write: (data) => send(data),
          resize: (cols, rows) => send(JSON.stringify({ type: "resize", cols, rows })),
          close: async () => {
            ended = true;
            socket.close(1000, "closed");
          },
        });
      } else if (message.type === "error") {
        if (!started) reject(new Error(message.message));
        else handlers.output(new TextEncoder().encode(`\r\n${message.message}\r\n`));
      } else if (message.type === "end") {
        end({ exit_code: message.exit_code, message: message.message });
      }
    };
    socket.onclose = (event) => {
      if (!started) {
        reject(new Error(event.reason ? `the terminal could not be opened: ${event.reason}` : NOT_OPENED));
        return;
      }
      end({ exit_code: null, message: "The connection to the server closed: the session ended." });
    };
  });
}
