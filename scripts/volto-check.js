// Drives Volto 18 (started by ../shared/volto/start.sh against a Beffroi serving the
// demo with --trusted-proxies 127.0.0.1) in headless Chromium: anonymous pages, then a
// login and the editor's toolbar; prints what it saw and every error (page errors,
// responses >= 400). Not yet a test of the suite (Volto's install takes minutes).
//
//   BEFFROI_DATA=/tmp/d BEFFROI_ADMIN_PASSWORD="admin password" beffroi serve --demo --trusted-proxies 127.0.0.1 &
//   API=http://127.0.0.1:8080/demo VOLTO_PORT=3000 ../shared/volto/start.sh
//   node scripts/volto-check.js
const home = process.env.VOLTO_HOME || process.env.HOME + '/.cache/beffroi-volto';
const puppeteer = require(home + '/volto/driver/node_modules/puppeteer-core');
const base = process.env.VOLTO_URL || 'http://127.0.0.1:3000';
(async () => {
  const browser = await puppeteer.launch({executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless=new']});
  const page = await browser.newPage();
  await page.setViewport({width: 1280, height: 800});
  const errors = [];
  page.on('pageerror', e => errors.push('pageerror: ' + e.message));
  page.on('response', r => { if (r.status() >= 400) errors.push(r.status() + ' ' + r.request().method() + ' ' + r.url()); });
  for (const path of ['/', '/actualites', '/services']) {
    await page.goto(base + path, {waitUntil: 'networkidle0', timeout: 30000});
    const title = await page.title();
    const links = await page.$$eval('main a, #page-document a, .ui.container a', as => as.length);
    console.log(path, '|', title, '| links', links);
    if (process.env.SHOTS) await page.screenshot({path: `${process.env.SHOTS}/volto${path.replace(/\//g, '_') || '_'}.png`, fullPage: true});
  }
  await page.goto(base + '/login', {waitUntil: 'networkidle0'});
  await page.type('#login', process.env.VOLTO_LOGIN || 'admin');
  await page.type('#password', process.env.VOLTO_PASSWORD || 'admin password');
  await Promise.all([page.click('#login-form-submit'), page.waitForNetworkIdle({idleTime: 800})]);
  await page.goto(base + '/services', {waitUntil: 'networkidle0'});
  const toolbar = await page.$$eval('#toolbar a, #toolbar button', as => as.map(a => a.getAttribute('aria-label') || a.textContent).filter(Boolean));
  console.log('toolbar', JSON.stringify(toolbar));
  console.log('errors', JSON.stringify(errors, null, 1));
  await browser.close();
  process.exit(errors.length ? 1 : 0);
})().catch(e => { console.error(e); process.exit(1); });
