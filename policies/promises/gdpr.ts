/**
 * The GDPR (Regulation (EU) 2016/679) provisions the platform's published promises serve, with their official
 * titles. Article 5's principles are cited by paragraph, since the article's own title ("Principles relating to
 * processing of personal data") would not say which principle a promise keeps.
 */

/** A GDPR article a promise serves. */
export interface GdprArticle {
  /** The article, with paragraph and point where one principle is meant: `'5(1)(e)'`, `'32'`. */
  readonly article: string;
  /** The article's title in the Regulation, or the principle's name for a point of Article 5. */
  readonly title: string;
}

/**
 * The articles the promises cite. Trackstack is its customers' processor: they are the controllers of the
 * visitors' data, so Articles 28 (what a processor owes its controller) and 33(2) (a processor tells its
 * controller of a breach without undue delay) are what bind the platform directly.
 */
export const GDPR = {
  /** Collect only what the purpose needs. */
  dataMinimisation: { article: '5(1)(c)', title: 'Data minimisation' },
  /** Keep identifiable data no longer than needed. */
  storageLimitation: { article: '5(1)(e)', title: 'Storage limitation' },
  /** Protect against unauthorised processing, loss and damage. */
  integrityConfidentiality: { article: '5(1)(f)', title: 'Integrity and confidentiality' },
  /** Be able to show that the principles are kept. */
  accountability: { article: '5(2)', title: 'Accountability' },
  /** Delete on request, and once the data is no longer needed. */
  erasure: { article: '17', title: "Right to erasure ('right to be forgotten')" },
  /** Build the protection into the system and its defaults. */
  dataProtectionByDesign: { article: '25', title: 'Data protection by design and by default' },
  /** A processor's duties: confidentiality, security, deletion at the end of the service, assistance. */
  processor: { article: '28', title: 'Processor' },
  /** Encryption, confidentiality, integrity, availability and resilience, restore after an incident. */
  securityOfProcessing: { article: '32', title: 'Security of processing' },
  /** 72 hours for the controller; "without undue delay" from the processor (33(2)); breaches documented (33(5)). */
  breachNotificationAuthority: {
    article: '33',
    title: 'Notification of a personal data breach to the supervisory authority',
  },
  /** Telling the people whose data a breach puts at high risk. */
  breachNotificationSubject: {
    article: '34',
    title: 'Communication of a personal data breach to the data subject',
  },
  /** Personal data leaves the EU only under Chapter V's conditions. */
  transfers: { article: '44', title: 'General principle for transfers' },
} as const satisfies Record<string, GdprArticle>;
