import type { CommandAck, Decoded } from '@estate/protocols';
import pc from 'picocolors';
import type { Rejection } from './wire-monitor.js';

export type Tone = 'alarm' | 'ok' | 'deny' | 'command' | 'info' | 'quiet';

const kw = (w: number) => `${(w / 1000).toFixed(2)} kW`;
const kwh = (wh: number) => `${(wh / 1000).toFixed(1)} kWh`;
const ack = (a: CommandAck): [string, Tone] => [
  `ack ${a.cmdId} ${a.result}${a.reason ? ` (${a.reason})` : ''}`,
  a.result === 'done' ? 'ok' : 'deny',
];
const ALARMING = new Set(['forced', 'held_open', 'tamper', 'fire_alarm', 'leak_detected', 'fault', 'video_lost']);

/** A one-line, human summary of a message and how loudly to show it. PINs are never shown. */
export function summarise(d: Decoded): [string, Tone] {
  switch (d.name) {
    case 'devicePresence':
    case 'gatewayPresence':
      return d.message.online ? ['online', 'ok'] : ['offline', 'alarm'];
    case 'doorState': {
      const m = d.message;
      const flags = [m.fire && 'FIRE', m.tamper && 'TAMPER', m.held && 'held open'].filter(Boolean).join(' ');
      return [
        `relay ${m.relay} · door ${m.contact}${flags ? ` · ${flags}` : ''}`,
        m.relay === 'unlocked' ? 'ok' : 'info',
      ];
    }
    case 'doorEvent':
    case 'cameraEvent':
    case 'bleEvent':
    case 'readerEvent':
    case 'leakEvent':
      return [`event ${d.message.type}`, ALARMING.has(d.message.type) ? 'alarm' : 'info'];
    case 'doorCommand':
      return [`command ${d.message.action}${d.message.pulseMs ? ` ${d.message.pulseMs} ms` : ''}`, 'command'];
    case 'cameraCommand':
    case 'chargerCommand':
      return [`command ${d.message.action}`, 'command'];
    case 'doorAck':
    case 'cameraAck':
    case 'chargerAck':
    case 'gatewayCommandAck':
      return ack(d.message);
    case 'cameraState':
      return [
        `${d.message.streaming ? 'streaming' : 'idle'} ${d.message.fps} fps ${d.message.width}×${d.message.height}`,
        'info',
      ];
    case 'cameraFrame':
      return [
        `${d.message.kind} #${d.message.seq} ${d.message.width}×${d.message.height} ${(d.message.data.byteLength / 1024).toFixed(0)} KB`,
        'quiet',
      ];
    case 'bleHello':
      return [`phone key presented (rssi ${d.message.rssi} dBm)`, 'info'];
    case 'bleChallenge':
      return ['challenge → phone', 'command'];
    case 'bleResponse':
      return ['phone signed the challenge', 'info'];
    case 'bleResult':
    case 'readerFeedback':
      return [d.message.granted ? 'granted' : `denied: ${d.message.reason}`, d.message.granted ? 'ok' : 'deny'];
    case 'readerState':
      return [`reader ready (${d.message.capabilities.join(', ')})`, 'info'];
    case 'readerInput':
      return [
        d.message.method === 'pin' ? `PIN entered (${'•'.repeat(d.message.value.length)})` : 'QR code scanned',
        'info',
      ];
    case 'chargerState': {
      const m = d.message;
      return [
        `${m.status}${m.sessionId ? ` session ${m.sessionId}` : ''} · limit ${kw(m.powerLimitW)}${m.faultCode ? ` · fault ${m.faultCode}` : ''}`,
        m.status === 'faulted' ? 'alarm' : 'info',
      ];
    }
    case 'chargerMeter':
      return [`${kw(d.message.powerW)} · register ${kwh(d.message.energyWh)}`, 'quiet'];
    case 'chargerEvent': {
      const m = d.message;
      if (m.type === 'session_stopped')
        return [`session ${m.sessionId} stopped (${m.reason}) · ${kwh(m.energyWh)}`, 'info'];
      if (m.type === 'session_started') return [`session ${m.sessionId} started`, 'ok'];
      if (m.type === 'fault') return [`FAULT ${m.faultCode}`, 'alarm'];
      return [`event ${m.type}`, 'info'];
    }
    case 'leakTelemetry':
      return [
        `${d.message.leak ? 'WATER' : 'dry'} · battery ${d.message.batteryPct}%`,
        d.message.leak ? 'alarm' : 'quiet',
      ];
    case 'climateTelemetry':
      return [`${d.message.temperatureC.toFixed(1)} °C · ${d.message.humidityPct.toFixed(0)} % RH`, 'quiet'];
    case 'energyTelemetry':
      return [`${kw(d.message.powerW)} · register ${kwh(d.message.energyWh)}`, 'quiet'];
    case 'gatewayHealth':
      return [`health: backlog ${d.message.backlog.events} events, ${d.message.devices.length} devices`, 'info'];
    case 'eventBatch':
      return [`${d.message.events.length} events up to seq ${d.message.events.at(-1)?.seq}`, 'info'];
    case 'eventAck':
      return [`cloud stored up to seq ${d.message.ackedSeq}`, 'quiet'];
    case 'telemetryBatch':
      return [`${d.message.samples.length} telemetry samples`, 'quiet'];
    case 'desiredState':
      return [`desired state v${d.message.version}`, 'command'];
    case 'desiredAck':
      return [`runs v${d.message.version} (${d.message.status})`, d.message.status === 'applied' ? 'ok' : 'deny'];
    case 'configSync':
      return [`config v${d.message.toVersion}`, 'command'];
    case 'accessSync':
    case 'gallerySync':
    case 'credentialSync':
    case 'passSync':
    case 'revocationSync':
    case 'reservationSync':
      return [
        `${d.message.section} v${d.message.fromVersion}→v${d.message.toVersion}: +${d.message.upserts.length} −${d.message.deletes.length}`,
        'command',
      ];
    case 'gatewayCommand':
      return [
        `remote ${d.message.action}${d.message.doorId ? ` ${d.message.doorId}` : ''} by ${d.message.issuer.userId}`,
        'command',
      ];
  }
}

const paint: Record<Tone, (s: string) => string> = {
  alarm: (s) => pc.bold(pc.red(s)),
  ok: pc.green,
  deny: pc.yellow,
  command: pc.cyan,
  info: (s) => s,
  quiet: pc.dim,
};

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23);
const who = (d: Decoded) => {
  const p = d.params as Record<string, string>;
  return (p.deviceId ?? p.gatewayId ?? '').padEnd(18);
};

/** `12:00:03.120  door-b1-main      doorEvent       event forced` */
export function formatMessage(d: Decoded, now = Date.now()): string {
  const [text, tone] = summarise(d);
  return `${pc.dim(clock(now))}  ${who(d)}  ${pc.dim(d.name.padEnd(16))} ${paint[tone](text)}`;
}

export function formatRejection(r: Rejection, now = Date.now()): string {
  return `${pc.dim(clock(now))}  ${pc.red('REJECTED')} ${r.topic} from ${r.clientId ?? 'broker'}: ${pc.red(`${r.error.code} ${r.error.message}`)}`;
}
