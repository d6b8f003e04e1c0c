// What the benchmark pages (idioms.js, isolation.js) share: posts to the benchmark's
// server, and an RTCDataChannel set up through it (the baseline PeerSocket is held to).
'use strict';

async function post (path, body) {
  const res = await fetch(path, { method: 'POST', body: JSON.stringify(body) });
  return res.json();
}

// The browser's channel counters, read now. A synchronous request on purpose: while it
// waits no task runs, so a credit the page owes goes with its next write as it does
// in steady state, not on its own because the page paused to take a mark. The counts
// between two marks are then the phase's own (a pause's credit, at the end of a
// phase, is not in them; docs/PERFORMANCE.md says what a pause costs).
function markNow (what) {
  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/mark', false);
  xhr.send(JSON.stringify({ what }));
  return JSON.parse(xhr.responseText);
}

// An open, ordered RTCDataChannel to the other page of `room`: the offerer creates it,
// the other answers; the SDPs go through the server's /signal. No ICE servers: host
// candidates only (the benchmark runs it in a network namespace of its own).
async function dataChannel (room, offerer, lowWater) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  let dc;
  if (offerer) {
    dc = pc.createDataChannel('bench', { ordered: true });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    await post('/signal', { room, key: 'offer', value: pc.localDescription.sdp });
    const answer = await post('/signal', { room, key: 'answer' });
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.value });
  } else {
    const channel = new Promise((resolve) => { pc.ondatachannel = (e) => resolve(e.channel); });
    const offer = await post('/signal', { room, key: 'offer' });
    await pc.setRemoteDescription({ type: 'offer', sdp: offer.value });
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    await post('/signal', { room, key: 'answer', value: pc.localDescription.sdp });
    dc = await channel;
  }
  if (dc.readyState !== 'open') await new Promise((resolve) => { dc.onopen = resolve; });
  dc.binaryType = 'arraybuffer';
  dc.bufferedAmountLowThreshold = lowWater;
  return { pc, dc };
}

function gathered (pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => pc.addEventListener('icegatheringstatechange', () => {
    if (pc.iceGatheringState === 'complete') resolve();
  }));
}
