import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type CameraCommand,
  type CameraFrameHeader,
  type CameraState,
  FRAME_HEADER_BYTES,
  routes,
} from '@estate/protocols';
import { done, type Outcome, refused } from './commands.js';
import { Device, type DeviceOptions } from './device.js';
import { type JpegSize, jpegSize } from './jpeg.js';

/** Where the models package puts its test photos; relative to the working directory. */
export const DEFAULT_PHOTOS = 'models/photos';

export interface CameraOptions extends DeviceOptions {
  /** Folder of JPEG files (searched recursively) to cycle through; default `models/photos`. */
  photos?: string | undefined;
  /** Frames per second; default 2. */
  fps?: number | undefined;
  /** Stream from start(); default true. When false, the folder is read only on start/snapshot commands. */
  streaming?: boolean | undefined;
}

interface Photo extends JpegSize {
  file: string;
  data: Buffer;
}

const MAX_JPEG_BYTES = routes.cameraFrame.maxBytes - FRAME_HEADER_BYTES;
const U32 = 0x1_0000_0000;

/** A face camera that streams JPEG files from a folder as binary frames. */
export class Camera extends Device {
  readonly kind = 'camera';
  private readonly folder: string;
  private fps: number;
  private streaming: boolean;
  private size: JpegSize = { width: 640, height: 480 };
  private photos: Photo[] = [];
  private nextPhoto = 0;
  private frameSeq = 0;
  private cancelStream = () => {};

  constructor(options: CameraOptions) {
    super(options);
    this.folder = resolve(options.photos ?? DEFAULT_PHOTOS);
    this.fps = options.fps ?? 2;
    this.streaming = options.streaming ?? true;
    this.onCommand('cameraCommand', (cmd) => this.run(cmd));
  }

  get state(): CameraState {
    return { ts: this.now(), streaming: this.streaming, fps: this.fps, ...this.size };
  }

  /** Publishes one JPEG as a frame now; returns the header it was sent with. */
  async publishJpeg(data: Uint8Array, kind: CameraFrameHeader['kind'] = 'frame'): Promise<CameraFrameHeader> {
    const { width, height } = jpegSize(data);
    // The wire seq is a u32: wrap rather than fail after 4 billion frames.
    const header: CameraFrameHeader = { seq: this.frameSeq, ts: this.now(), kind, format: 'jpeg', width, height };
    this.frameSeq = (this.frameSeq + 1) % U32;
    await this.publish('cameraFrame', { ...header, data });
    return header;
  }

  protected override async onStart(): Promise<void> {
    // Fail at start, with the folder named, rather than stream nothing.
    if (this.streaming) await this.ensurePhotos();
  }

  protected override async onConnected(): Promise<void> {
    await this.publish('cameraState', this.state);
    if (this.streaming) this.restartStream();
  }

  protected override onLinkLost(): void {
    // Frames are QoS 0 and worthless late: stop producing them until the link is back.
    this.cancelStream();
  }

  private async run(cmd: CameraCommand): Promise<Outcome> {
    switch (cmd.action) {
      case 'start':
      case 'snapshot':
        try {
          await this.ensurePhotos();
        } catch (e) {
          this.log('error', (e as Error).message);
          return { result: 'failed', reason: 'no_images' };
        }
        if (cmd.action === 'snapshot') {
          await this.publishNext();
          return done;
        }
        return this.setStreaming(true, cmd.fps);
      case 'stop':
        return this.setStreaming(false);
      case 'set_rate':
        if (cmd.fps === undefined) return refused('fps_required');
        return this.setStreaming(this.streaming, cmd.fps);
    }
  }

  private async setStreaming(on: boolean, fps = this.fps): Promise<Outcome> {
    this.streaming = on;
    this.fps = fps;
    if (on) this.restartStream();
    else this.cancelStream();
    await this.publish('cameraState', this.state);
    return done;
  }

  private restartStream(): void {
    this.cancelStream();
    this.cancelStream = this.every(1000 / this.fps, () => {
      if (this.online) this.spawn(this.publishNext());
    });
  }

  private async publishNext(): Promise<void> {
    const photo = this.photos[this.nextPhoto % this.photos.length];
    if (!photo) return;
    this.nextPhoto = (this.nextPhoto + 1) % this.photos.length;
    await this.publishJpeg(photo.data);
  }

  private async ensurePhotos(): Promise<void> {
    if (this.photos.length > 0) return;
    this.photos = await loadPhotos(this.folder, (m) => this.log('warn', m));
    // The state reports the stream's nominal size; each frame carries its own.
    const first = this.photos[0];
    if (first) this.size = { width: first.width, height: first.height };
    this.log('info', `${this.photos.length} photos from ${this.folder}`);
  }
}

async function loadPhotos(folder: string, warn: (message: string) => void): Promise<Photo[]> {
  let names: string[];
  try {
    names = await readdir(folder, { recursive: true });
  } catch (e) {
    throw new Error(`camera photos folder '${folder}' cannot be read (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const files = names.filter((n) => /\.jpe?g$/i.test(n)).sort();
  if (files.length === 0) throw new Error(`camera photos folder '${folder}' holds no .jpg/.jpeg files`);
  const photos: Photo[] = [];
  for (const name of files) {
    const file = join(folder, name);
    const data = await readFile(file);
    try {
      if (data.byteLength > MAX_JPEG_BYTES) throw new Error(`larger than the ${MAX_JPEG_BYTES}-byte frame limit`);
      photos.push({ file, data, ...jpegSize(data) });
    } catch (e) {
      warn(`skipping ${file}: ${(e as Error).message}`);
    }
  }
  if (photos.length === 0) throw new Error(`none of the ${files.length} JPEG files in '${folder}' is usable`);
  return photos;
}
