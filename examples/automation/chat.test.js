// Drive Peerbrowser over the Chrome DevTools Protocol: two identities of the chat
// demo (peerapp://chat/) talk to each other, one tab each, opened by the test.
//
//   peerbrowser --remote-debugging-port 9222 &     # or --headless, see the README
//   npm test                                        # PEERBROWSER_URL=http://127.0.0.1:PORT to pick another
//
// puppeteer-core and playwright-core download no browser: they connect to the
// one that is running (puppeteer.connect / chromium.connectOverCDP).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import puppeteer from 'puppeteer-core'
import { chromium } from 'playwright-core'

const BROWSER_URL = process.env.PEERBROWSER_URL || 'http://127.0.0.1:9222'
const ROOM = 'pauls-chat-room'

// The chat app's own state, as it shows it on <body> and in #transcript.
function chatState () {
  const body = document.body
  return {
    state: body.dataset.state || 'loading',
    error: body.dataset.error || '',
    peers: Number(body.dataset.peers || 0),
    transcript: document.querySelector('#transcript')?.textContent || ''
  }
}

async function waitForState (page, check, what, ...args) {
  try {
    await page.waitForFunction(check, { timeout: 60_000, polling: 50 }, ...args)
  } catch (err) {
    const state = await page.evaluate(chatState)
    throw new Error(`${page.url()}: ${what} (the page says ${JSON.stringify(state)})`, { cause: err })
  }
}

describe('puppeteer-core', () => {
  let browser

  before(async () => {
    browser = await puppeteer.connect({ browserURL: BROWSER_URL, defaultViewport: null })
  })

  after(async () => {
    // disconnect() leaves the browser running; browser.close() would end it (Browser.close).
    await browser?.disconnect()
  })

  test('two identities of the chat demo see each other\'s messages', async () => {
    const speakers = [
      { identity: 1, name: 'alice', line: 'hello from alice' },
      { identity: 2, name: 'bob', line: 'hi alice, bob here' }
    ]
    // browser.newPage() is Target.createTarget: a new tab in the window.
    for (const s of speakers) {
      s.page = await browser.newPage()
      await s.page.goto(`peerapp://chat/?identity=${s.identity}&name=${s.name}`)
    }
    for (const s of speakers) {
      assert.equal(await s.page.evaluate(() => typeof PeerSocket.joinSwarm), 'function')
      await waitForState(s.page, () => document.body.dataset.state === 'joined', 'never joined the room')
      await waitForState(s.page, () => Number(document.body.dataset.peers) >= 1, 'never saw a peer')
    }
    // the room is an open swarm: the tabs know its id
    assert.equal(await speakers[0].page.evaluate(() => document.title), 'Chat')
    for (const s of speakers) {
      await s.page.type('#message', s.line)
      await s.page.keyboard.press('Enter')
    }
    const lines = speakers.map((s) => `[#${s.identity}] ${s.name}: ${s.line}`)
    for (const s of speakers) {
      await waitForState(s.page, (wanted) => wanted.every((l) => document.querySelector('#transcript').textContent.includes(l)),
        'never showed both lines', lines)
      const { transcript } = await s.page.evaluate(chatState)
      for (const line of lines) assert.ok(transcript.includes(line), `${s.name}'s tab lacks "${line}":\n${transcript}`)
    }
    // PeerSocket itself is there to script: each tab is a presence of its own in the room
    const ids = await Promise.all(speakers.map((s) => s.page.evaluate(async (room) => {
      const swarm = await PeerSocket.joinSwarm({ id: room })
      const id = swarm.getLoopback().info.id
      await swarm.close()
      return id
    }, ROOM)))
    assert.notEqual(ids[0], ids[1])
    for (const s of speakers) await s.page.close()
  })
})

describe('playwright-core', () => {
  test('connectOverCDP, then newPage() in the default context', async () => {
    const browser = await chromium.connectOverCDP(BROWSER_URL)
    try {
      const [context] = browser.contexts()
      assert.ok(context, 'the browser has its default context')
      const page = await context.newPage()
      await page.goto('peerapp://chat/?identity=3&name=carol')
      await page.waitForFunction(() => document.body.dataset.state === 'joined', null, { timeout: 60_000 })
      await page.fill('#message', 'carol was here')
      await page.press('#message', 'Enter')
      await page.waitForFunction(() => document.querySelector('#transcript').textContent.includes('[#3] carol: carol was here'),
        null, { timeout: 60_000 })
      await page.close()
    } finally {
      // For a browser reached with connectOverCDP, close() only disconnects.
      await browser.close()
    }
    const version = await (await fetch(`${BROWSER_URL}/json/version`)).json()
    assert.match(version['User-Agent'], /QtWebEngine/, 'the browser is still running')
  })
})
