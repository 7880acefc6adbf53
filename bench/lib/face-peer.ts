import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

/**
 * The peer: @vladmandic/face-api 1.7.15 on @tensorflow/tfjs-backend-wasm 4.22.0
 * (the versions face-api was built with), the pure-Node option a developer would
 * otherwise pick. Everything is loaded from node_modules: the wasm binaries from
 * tfjs-backend-wasm/dist, the weights from face-api/model, read with face-api's
 * own loadFromDisk (Node fs). Nothing is fetched from the network.
 *
 * The packages are loaded with require() when a bench asks for the peer, not at
 * import: tfjs is large, and the face_to_relay RSS figure must not include it.
 */
type FaceApi = typeof import('@vladmandic/face-api/dist/face-api.node-wasm.js');
type Tfjs = typeof import('@tensorflow/tfjs');
type TfjsWasm = typeof import('@tensorflow/tfjs-backend-wasm');

/**
 * tiny-320: TinyFaceDetector at a 320 px input, the light real-time detector,
 * closest in size and input to ours (UltraFace-style at 320×240).
 * ssd: SSD MobileNet V1, face-api's default and the one its README recommends
 * for accuracy.
 */
export const PEER_DETECTORS = ['tiny-320', 'ssd'] as const;
export type PeerDetector = (typeof PEER_DETECTORS)[number];

export interface PeerInfo {
  faceapi: string;
  tfjs: string;
  backend: string;
  simd: boolean;
  multithread: boolean;
  threads: number;
}

export interface PeerResult {
  /** a face was found (then landmarks and a 128-d descriptor were computed) */
  found: boolean;
  descriptor: Float32Array | undefined;
  ms: number;
}

export class FaceApiPeer {
  private constructor(
    private readonly faceapi: FaceApi,
    private readonly tf: Tfjs,
    readonly info: PeerInfo,
  ) {}

  static async create(): Promise<FaceApiPeer> {
    const require = createRequire(import.meta.url);
    const tf = require('@tensorflow/tfjs') as Tfjs;
    const wasm = require('@tensorflow/tfjs-backend-wasm') as TfjsWasm;
    const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    // local files, not the CDN the face-api demo uses
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
    if (!(await tf.setBackend('wasm'))) throw new Error('face-api peer: the tfjs wasm backend did not start');
    await tf.ready();
    const model = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
    await faceapi.nets.tinyFaceDetector.loadFromDisk(model);
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(model);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(model);
    await faceapi.nets.faceRecognitionNet.loadFromDisk(model);
    const info: PeerInfo = {
      faceapi: String(faceapi.version),
      tfjs: tf.version_core,
      backend: tf.getBackend(),
      simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
      multithread: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
      threads: wasm.getThreadsCount(),
    };
    return new FaceApiPeer(faceapi, tf, info);
  }

  /**
   * What a developer writes for recognition: decode (sharp, as ours), then
   * detectSingleFace(...).withFaceLandmarks().withFaceDescriptor().
   */
  async analyse(bytes: Uint8Array, detector: PeerDetector): Promise<PeerResult> {
    const fa = this.faceapi;
    const started = performance.now();
    const { data, info } = await sharp(bytes)
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`face-api peer: decoded ${info.channels} channels, expected 3`);
    const pixels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const input = fa.tf.tensor3d(pixels, [info.height, info.width, 3], 'int32');
    try {
      const options =
        detector === 'ssd'
          ? new fa.SsdMobilenetv1Options({ minConfidence: 0.5 })
          : new fa.TinyFaceDetectorOptions({ inputSize: 320, scoreThreshold: 0.5 });
      const result = await fa.detectSingleFace(input, options).withFaceLandmarks().withFaceDescriptor();
      return { found: result !== undefined, descriptor: result?.descriptor, ms: performance.now() - started };
    } finally {
      input.dispose();
    }
  }

  /** Tensors alive in tfjs: constant from call to call unless the peer leaks. */
  tensors(): number {
    return this.tf.memory().numTensors;
  }
}
