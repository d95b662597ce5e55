/**
 * Which serving location is nearest to a viewer's country, and which location takes over when one fails.
 * The edge's routing function embeds these tables (CloudFront tells it the viewer's country as an ISO 3166-1
 * alpha-2 code), so they are kept as compact strings: the whole table costs about 750 bytes of the
 * function's 10 KB.
 */
import { LOCATIONS, PRIMARY_LOCATION, type Location } from './definition';

/**
 * The countries (ISO 3166-1 alpha-2, space-separated) each location serves: americas takes North, Central
 * and South America and the Caribbean; europe takes Europe, Africa and the Middle East (eu-west-1 is closer
 * to all of them than Singapore or Virginia); apac takes the rest of Asia (India and Central Asia included)
 * and Oceania. Every code appears once. `XK` (Kosovo) is not in ISO 3166-1 but CDNs report it.
 */
export const COUNTRY_LOCATIONS: Readonly<Record<Location, string>> = {
  americas:
    'AG AI AR AW BB BL BM BO BQ BR BS BZ CA CL CO CR CU CW DM DO EC FK GD GF GL GP GS GT GY HN HT JM KN KY ' +
    'LC MF MQ MS MX NI PA PE PM PR PY SR SV SX TC TT UM US UY VC VE VG VI',
  europe:
    'AD AE AL AM AO AT AX AZ BA BE BF BG BH BI BJ BV BW BY CD CF CG CH CI CM CV CY CZ DE DJ DK DZ EE EG EH ' +
    'ER ES ET FI FO FR GA GB GE GG GH GI GM GN GQ GR GW HR HU IE IL IM IQ IR IS IT JE JO KE KM KW LB LI LR ' +
    'LS LT LU LV LY MA MC MD ME MG MK ML MR MT MU MW MZ NA NE NG NL NO OM PL PS PT QA RE RO RS RU RW SA SC ' +
    'SD SE SH SI SJ SK SL SM SN SO SS ST SY SZ TD TF TG TN TR TZ UA UG VA XK YE YT ZA ZM ZW',
  apac:
    'AF AQ AS AU BD BN BT CC CK CN CX FJ FM GU HK HM ID IN IO JP KG KH KI KP KR KZ LA LK MH MM MN MO MP MV ' +
    'MY NC NF NP NR NU NZ PF PG PH PK PN PW SB SG TH TJ TK TL TM TO TV TW UZ VN VU WF WS',
};

const BY_COUNTRY: ReadonlyMap<string, Location> = new Map(
  LOCATIONS.flatMap((location) => COUNTRY_LOCATIONS[location].split(' ').map((c) => [c, location] as const)),
);

/**
 * The location nearest to a country (ISO 3166-1 alpha-2, any case); the primary location for a code that
 * is unknown, empty or missing (CloudFront sends none for some anonymised or satellite viewers).
 */
export function locationOfCountry(code: string | undefined): Location {
  return BY_COUNTRY.get((code ?? '').toUpperCase()) ?? PRIMARY_LOCATION;
}

/**
 * For each location, the other locations nearest first: where its viewers go when it is down. Singapore's
 * viewers fail over to Ireland before Virginia (shorter paths), Virginia's and Ireland's to each other.
 */
export const FAILOVER_ORDER: Readonly<Record<Location, readonly Location[]>> = {
  americas: ['europe', 'apac'],
  europe: ['americas', 'apac'],
  apac: ['europe', 'americas'],
};
