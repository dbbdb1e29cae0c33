import { spawn } from 'node:child_process';

/**
 * Writes a 6 s, 320x240, 10 fps H.264 sample with ffmpeg's lavfi: two solid red rectangles on
 * gray. The red-square test model (`npm start -- --test-model`) finds exactly these two in
 * every frame; a real COCO model finds nothing in it, so bring a real video for that.
 */
export async function writeSampleVideo(file: string, ffmpeg = 'ffmpeg'): Promise<void> {
  // Still boxes at the test model's own input size, edges on multiples of 16 (JPEG and H.264
  // block borders): moving, resized or block-crossing edges ring, and the model reports the
  // ringing pixels as stray tiny boxes.
  const scene = [
    'color=c=gray:s=320x240:r=10:d=6',
    'drawbox=x=32:y=32:w=80:h=80:color=red@1:t=fill',
    'drawbox=x=176:y=144:w=96:h=64:color=red@1:t=fill',
  ].join(',');
  // prettier-ignore
  const args = [
    '-hide_banner', '-v', 'error', '-y', '-f', 'lavfi', '-i', scene,
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', file,
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', (error) => {
      reject(new Error(`cannot run ${ffmpeg} to make a sample video: ${error.message}`));
    });
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg failed to make a sample video (${String(code)}): ${stderr}`));
    });
  });
}
