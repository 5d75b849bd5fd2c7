import { useCallback, useEffect, useRef, useState } from 'react';
import { parseServerFrame, type ServerFrame } from './protocol.ts';

export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'offline';

const MAX_BACKOFF_MS = 30_000;

/** Exponential backoff with full jitter: 0.5 s, 1 s, 2 s … capped at 30 s. */
export function backoffMs(attempt: number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * One WebSocket to the realtime API that reconnects with backoff after a drop. `onFrame` gets every
 * parsed server frame; `onDrop` fires when an open socket closes (so a pending turn can be flagged).
 */
export function useChatSocket(
  url: string | undefined,
  handlers: { onFrame: (frame: ServerFrame) => void; onDrop: () => void },
) {
  const [status, setStatus] = useState<ConnectionStatus>('connecting');
  const [retryInMs, setRetryInMs] = useState<number | undefined>();
  const socketRef = useRef<WebSocket | undefined>(undefined);
  const handlersRef = useRef(handlers);
  handlersRef.current = handlers;
  const [generation, setGeneration] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `generation` re-runs the effect to reconnect now
  useEffect(() => {
    if (!url) return;
    let attempt = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let disposed = false;

    const open = () => {
      setStatus(attempt === 0 ? 'connecting' : 'reconnecting');
      setRetryInMs(undefined);
      const socket = new WebSocket(url);
      socketRef.current = socket;
      let wasOpen = false;
      socket.onopen = () => {
        wasOpen = true;
        attempt = 0;
        setStatus('open');
      };
      socket.onmessage = (event) => {
        const frame = parseServerFrame(event.data);
        if (frame) handlersRef.current.onFrame(frame);
      };
      socket.onclose = () => {
        if (socketRef.current === socket) socketRef.current = undefined;
        if (disposed) return;
        if (wasOpen) handlersRef.current.onDrop();
        const delay = backoffMs(attempt);
        attempt += 1;
        setStatus(navigator.onLine === false ? 'offline' : 'reconnecting');
        setRetryInMs(delay);
        timer = setTimeout(open, delay);
      };
    };
    open();
    return () => {
      disposed = true;
      if (timer) clearTimeout(timer);
      socketRef.current?.close(1000, 'page closed');
      socketRef.current = undefined;
    };
  }, [url, generation]);

  const send = useCallback((message: unknown): boolean => {
    const socket = socketRef.current;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }, []);

  /** Skip the backoff wait and reconnect now. */
  const reconnectNow = useCallback(() => setGeneration((g) => g + 1), []);

  return { status, retryInMs, send, reconnectNow };
}
