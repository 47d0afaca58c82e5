// The Volto journey: drives Volto 18 (../shared/volto, started against a Beffroi
// serving a fresh demo with --trusted-proxies 127.0.0.1) in headless Chromium, as a
// citizen then as the commune's editor: home page, a folder, a page rendered by the
// server and reached by client navigation, a news item with its image, an event; then
// logs in, edits a page's title and text, saves and sees the change, adds a page,
// publishes it, logs out. Fails on a page error, an API answer >= 400 or an element
// missing; saves a screenshot of each step in $SHOTS (default /tmp/volto-check).
// Run by scripts/volto-check.sh, which starts both servers.
//
// SPDX-License-Identifier: EUPL-1.2
const home = process.env.VOLTO_HOME || process.env.HOME + '/.cache/beffroi-volto';
const puppeteer = require(home + '/volto/driver/node_modules/puppeteer-core');
const fs = require('fs');
const base = process.env.VOLTO_URL || 'http://127.0.0.1:3000';
const shots = process.env.SHOTS || '/tmp/volto-check';
const login = process.env.VOLTO_LOGIN || 'admin';
const password = process.env.VOLTO_PASSWORD || 'admin password';
fs.mkdirSync(shots, {recursive: true});

const problems = [];
let step = 0;
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const browser = await puppeteer.launch({executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless=new']});
  const page = await browser.newPage();
  await page.setViewport({width: 1280, height: 900});
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('response', async (r) => {
    // A 401 on @login-renew is how Volto learns a token is gone; every other answer
    // >= 400 from the backend is a problem.
    if (r.status() >= 400 && r.url().includes('++api++') && !r.url().endsWith('/@login-renew')) {
      let body = '';
      try {
        body = (await r.text()).slice(0, 300);
      } catch (e) {}
      problems.push(`${r.status()} ${r.request().method()} ${r.url()} ${body}`);
    }
  });
  const shot = async (name) => {
    step += 1;
    await page.screenshot({path: `${shots}/${String(step).padStart(2, '0')}-${name}.png`, fullPage: true});
  };
  const visit = async (path) => page.goto(base + path, {waitUntil: 'networkidle0', timeout: 30000});
  // Text that must be on the page (within `selector`), else a problem.
  const expect = async (what, selector, text, timeout = 10000) => {
    try {
      await page.waitForFunction(
        (sel, t) => [...document.querySelectorAll(sel)].some((e) => e.textContent.includes(t)),
        {timeout},
        selector,
        text,
      );
      console.log('ok  ', what);
    } catch (e) {
      problems.push(`missing: ${what} (${JSON.stringify(text)} in ${selector})`);
      console.log('FAIL', what);
    }
  };

  // A citizen.
  await visit('/');
  await expect('home page title', 'h1', "Commune de Val-d'Ourthe");
  await expect('home page news listing', '.block.listing, .listing', 'Travaux rue de la Station');
  await expect('home page links to procedures', '.block.teaser, .teaser-item', 'État civil');
  await shot('home');
  await visit('/services');
  await expect('folder lists its pages', '#page-document, main, .ui.container', 'Population');
  await shot('folder');
  await visit('/services/etat-civil');
  await expect('page rendered by the server', '#page-document, main', 'Horaires');
  await shot('page');
  // Client navigation: from the home page through the main navigation, then a link.
  await visit('/');
  await Promise.all([page.waitForNetworkIdle({idleTime: 500}), page.click('nav a[href$="/actualites"], a[href="/actualites"]')]);
  await expect('news folder by client navigation', 'h1', 'Actualités');
  await Promise.all([
    page.waitForNetworkIdle({idleTime: 500}),
    page.click('a[href$="/actualites/travaux-rue-de-la-station"]'),
  ]);
  await expect('news item by client navigation', 'h1', 'Travaux rue de la Station');
  const images = await page.$$eval('img', (is) => is.filter((i) => i.src.includes('@@images') && i.naturalWidth > 0).length);
  if (images === 0) problems.push('missing: the news item\'s image');
  else console.log('ok  ', 'news item image');
  await shot('news-item');
  await visit('/agenda/concert-de-fin-d-annee');
  await expect('event page', 'h1', "Concert de fin d'année");
  await expect('event place', '#page-document, main', 'Église Saint-Martin');
  await shot('event');

  // The editor.
  await visit('/login');
  await page.type('#login', login);
  await page.type('#password', password);
  await Promise.all([page.click('#login-form-submit'), page.waitForNetworkIdle({idleTime: 800})]);
  await visit('/services/population');
  await expect('toolbar after login', '#toolbar', '');
  await visit('/services/population/edit');
  await page.waitForSelector('.documentFirstHeading, h1[contenteditable]', {timeout: 15000}).catch(() => problems.push('missing: the title block in the edit form'));
  const title = await page.$('.documentFirstHeading, h1[contenteditable]');
  if (title) {
    await title.click();
    await page.keyboard.down('Control');
    await page.keyboard.press('A');
    await page.keyboard.up('Control');
    await page.keyboard.type('Population et état civil');
  }
  // The first text block after the title: the caret at its end, then a sentence.
  const text = await page.$$('.block-editor-slate [contenteditable="true"], .slate-editor [contenteditable="true"]');
  if (text.length) {
    await text[0].click();
    await page.keyboard.press('End');
    await page.keyboard.type(' Sur rendez-vous le samedi.');
  } else {
    problems.push('missing: a text block in the edit form');
  }
  await shot('edit');
  await Promise.all([page.waitForNetworkIdle({idleTime: 800}), page.click('#toolbar-save')]);
  await wait(500);
  await expect('edited title shown', 'h1', 'Population et état civil');
  await expect('edited text shown', '#page-document, main', 'Sur rendez-vous le samedi.');
  await shot('edited');

  // A new page, then published.
  await visit('/services/add?type=Document');
  await page.waitForSelector('.documentFirstHeading, h1[contenteditable]', {timeout: 15000}).catch(() => problems.push('missing: the title block in the add form'));
  const newTitle = await page.$('.documentFirstHeading, h1[contenteditable]');
  if (newTitle) {
    await newTitle.click();
    await page.keyboard.type('Permis de conduire');
  }
  await shot('add');
  await Promise.all([page.waitForNetworkIdle({idleTime: 800}), page.click('#toolbar-save')]);
  await wait(500);
  await expect('new page shown', 'h1', 'Permis de conduire');
  if (!page.url().endsWith('/services/permis-de-conduire')) problems.push('new page at ' + page.url());
  await page.click('#toolbar-more').catch(() => problems.push('missing: the toolbar\'s More menu'));
  await page.waitForSelector('.react-select-container .react-select__control', {timeout: 5000}).catch(() => problems.push('missing: the state menu'));
  await page.click('.react-select-container .react-select__control').catch(() => {});
  await wait(300);
  const options = await page.$$('.react-select__option');
  let published = false;
  for (const o of options) {
    const label = await o.evaluate((e) => e.textContent);
    if (/Publi/.test(label)) {
      await Promise.all([page.waitForNetworkIdle({idleTime: 800}), o.click()]);
      published = true;
      break;
    }
  }
  if (!published) problems.push('missing: a publish transition in the state menu');
  await shot('published');
  await visit('/logout');
  await visit('/services/permis-de-conduire');
  await expect('published page seen by anonymous', 'h1', 'Permis de conduire');
  await shot('anonymous');

  await browser.close();
  if (problems.length) {
    console.log('PROBLEMS\n' + problems.join('\n'));
    process.exit(1);
  }
  console.log('volto journey: every step passed; screenshots in ' + shots);
})().catch((e) => {
  console.error(e);
  console.log('PROBLEMS\n' + problems.join('\n'));
  process.exit(1);
});
