import {
  Flags,
  FrameDecoder,
  FrameEncoder,
  FrameType,
  ProtocolError,
  ReceiveWindow,
  SendWindow,
  authProof,
  decodeAuth,
  decodeEnviron,
  decodeGoaway,
  decodeHello,
  decodeReset,
  decodeResponseHead,
  decodeTrailers,
  expectRole,
  verifyAuthProof,
  type FrameHandler,
  type Hello,
} from '@gatewire/protocol';

/**
 * A minimal gatewire peer written from the SPEC's rules (§5, §6, §9, §10, §12), with no
 * application: it never answers a REQUEST. The sequence vectors are played against it, which
 * checks that their expected reactions follow from the SPEC. Test code, not a worker.
 */
interface Stream {
  remoteEnded: boolean;
  receive: ReceiveWindow;
  send: SendWindow;
}

export class ReferencePeer implements FrameHandler {
  readonly role: 'proxy' | 'worker';
  readonly #hello: Hello;
  readonly #secret: Uint8Array | undefined;
  readonly #encoder = new FrameEncoder();
  readonly #decoder: FrameDecoder;
  #peerHello: Hello | undefined;
  #stage: 'hello' | 'auth' | 'ready' = 'hello';
  #authDone = false;
  #highest = 0;
  readonly #streams = new Map<number, Stream>();
  /** Everything written so far, and whether the connection was closed after it. */
  output: Buffer[] = [];
  closed = false;

  constructor(role: 'proxy' | 'worker', hello: Hello, secret?: Uint8Array) {
    this.role = role;
    this.#hello = hello;
    this.#secret = secret;
    this.#decoder = new FrameDecoder(this, { maxFrameSize: hello.maxFrameSize });
    // SPEC §5.1: preface and HELLO at once, without waiting for the peer.
    this.#encoder.preface();
    this.#encoder.hello(hello);
    this.#flush();
  }

  push(bytes: Buffer): void {
    if (this.closed) return;
    try {
      this.#decoder.push(bytes);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#fail(error);
    }
    this.#flush();
  }

  onData(streamId: number, flags: number, chunk: Buffer, endOfFrame: boolean): void {
    if (this.closed) return;
    this.#guard(() => {
      if (!this.#ready(FrameType.DATA)) return;
      const stream = this.#stream(streamId);
      if (!stream) return;
      if (stream.remoteEnded) return this.#reset(streamId, 'STREAM_CLOSED');
      stream.receive.receive(chunk.length, streamId);
      if (endOfFrame && flags & Flags.END_STREAM) stream.remoteEnded = true;
    });
  }

  onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.closed) return;
    this.#guard(() => this.#frame(type, flags, streamId, payload));
  }

  #guard(run: () => void): void {
    try {
      run();
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.#fail(error);
      this.#decoder.stop();
    }
  }

  #frame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (type === FrameType.HELLO) {
      if (this.#stage !== 'hello') throw new ProtocolError('HANDSHAKE_ERROR', 'second HELLO');
      return this.#onHello(payload);
    }
    if (type === FrameType.AUTH) return this.#onAuth(payload);
    if (!this.#ready(type)) return;
    // SPEC §5.3: this peer lists no features, so a feature's frame is an undefined type.
    if (type === FrameType.RECALL)
      throw new ProtocolError('UNKNOWN_FRAME_TYPE', 'RECALL, but the queue feature is not in effect');
    // SPEC §4.2: frames only the other role sends.
    const proxyOnly = type === FrameType.REQUEST;
    const workerOnly = type === FrameType.RESPONSE || type === FrameType.HEALTH;
    if ((this.role === 'worker' && workerOnly) || (this.role === 'proxy' && proxyOnly))
      throw new ProtocolError('PROTOCOL_ERROR', `frame type ${type} from the wrong side`);
    switch (type) {
      case FrameType.PING:
        this.#encoder.pong(payload);
        return;
      case FrameType.PONG:
        return;
      case FrameType.GOAWAY:
        decodeGoaway(payload);
        return;
      case FrameType.REQUEST:
        return this.#onRequest(flags, streamId, payload);
      case FrameType.WINDOW: {
        const stream = this.#stream(streamId);
        if (stream) stream.send.grant(payload.readUInt32BE(0), streamId);
        return;
      }
      case FrameType.RESET: {
        const stream = this.#stream(streamId);
        if (!stream) return;
        decodeReset(payload);
        this.#streams.delete(streamId);
        return;
      }
      case FrameType.TRAILERS: {
        const stream = this.#stream(streamId);
        if (!stream) return;
        if (stream.remoteEnded) return this.#reset(streamId, 'STREAM_CLOSED');
        decodeTrailers(payload);
        stream.remoteEnded = true;
        return;
      }
      case FrameType.RESPONSE:
        decodeResponseHead(payload);
        return;
    }
  }

  /** SPEC §5.1: only HELLO first; before the peer's AUTH only AUTH, GOAWAY, PING and PONG. */
  #ready(type: number): boolean {
    if (this.#stage === 'hello') throw new ProtocolError('HANDSHAKE_ERROR', 'the first frame must be HELLO');
    if (this.#stage === 'auth') {
      if (type === FrameType.GOAWAY || type === FrameType.PING || type === FrameType.PONG) return true;
      throw new ProtocolError('AUTH_FAILED', 'frame before AUTH');
    }
    return true;
  }

  #onHello(payload: Buffer): void {
    const hello = decodeHello(payload);
    expectRole(hello, this.role === 'worker' ? 'proxy' : 'worker');
    this.#peerHello = hello;
    const authRequired = this.role === 'worker' ? this.#hello.auth !== undefined : hello.auth !== undefined;
    this.#stage = authRequired ? 'auth' : 'ready';
    if (authRequired && this.role === 'proxy') {
      if (!this.#secret)
        throw new ProtocolError('AUTH_FAILED', 'the worker asks for a secret we do not have');
      this.#encoder.auth({ proof: authProof(this.#secret, 'proxy', this.#hello.nonce, hello.nonce) });
    }
  }

  #onAuth(payload: Buffer): void {
    if (this.#stage === 'hello') throw new ProtocolError('HANDSHAKE_ERROR', 'the first frame must be HELLO');
    if (this.#stage !== 'auth' || this.#authDone)
      throw new ProtocolError('PROTOCOL_ERROR', 'AUTH not asked for, or a second AUTH');
    const { proof } = decodeAuth(payload);
    const peer = this.#peerHello!;
    const secret = this.#secret ?? new Uint8Array();
    if (this.role === 'worker') {
      verifyAuthProof(proof, secret, 'proxy', peer.nonce, this.#hello.nonce);
      this.#encoder.auth({ proof: authProof(secret, 'worker', peer.nonce, this.#hello.nonce) });
    } else {
      verifyAuthProof(proof, secret, 'worker', this.#hello.nonce, peer.nonce);
    }
    this.#authDone = true;
    this.#stage = 'ready';
  }

  /** SPEC §6.1, §6.3. */
  #onRequest(flags: number, streamId: number, payload: Buffer): void {
    if (streamId <= this.#highest)
      throw new ProtocolError('PROTOCOL_ERROR', `REQUEST ${streamId} after ${this.#highest}`);
    this.#highest = streamId;
    decodeEnviron(payload);
    if (this.#streams.size >= this.#hello.maxStreams) return this.#reset(streamId, 'REFUSED_STREAM');
    this.#streams.set(streamId, {
      remoteEnded: (flags & Flags.END_STREAM) !== 0,
      receive: new ReceiveWindow(this.#hello.initialWindow),
      send: new SendWindow(this.#peerHello!.initialWindow),
    });
  }

  /** SPEC §6.1: undefined for a closed stream (ignore the frame); an unopened one is an error. */
  #stream(streamId: number): Stream | undefined {
    if (streamId > this.#highest)
      throw new ProtocolError('PROTOCOL_ERROR', `frame for stream ${streamId}, never opened`);
    return this.#streams.get(streamId);
  }

  #reset(streamId: number, code: 'STREAM_CLOSED' | 'REFUSED_STREAM'): void {
    this.#streams.delete(streamId);
    this.#encoder.reset(streamId, code);
  }

  /** SPEC §14.2: GOAWAY with the code, then close. */
  #fail(error: ProtocolError): void {
    this.#encoder.goaway(this.#highest, error.code, error.message);
    this.#flush();
    this.closed = true;
  }

  #flush(): void {
    if (this.#encoder.hasPending) this.output.push(this.#encoder.takeBuffer());
  }
}
