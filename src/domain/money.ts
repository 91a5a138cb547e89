/**
 * Exact decimal arithmetic on the decimal strings money travels as (`"50.00"`, `"-0.125"`). Every value is
 * held as a BigInt count of units at its own scale, so no amount ever passes through a JS number.
 *
 * - Inputs have at most {@link MAX_SCALE} decimals, no exponent, no `+`, no spaces: what the API and
 *   `numeric(28, 8)` accept.
 * - `add`, `sub`, `neg` and `sum` are exact; their result has as many decimals as the most precise operand.
 * - `mul`, `percentOf` and `sumOfPercents` compute the exact product and round it once, to the decimals
 *   asked for. Rounding once matters: rounding to 8 places and then to 2 can differ from rounding to 2.
 * - Rounding is half away from zero (`"0.125"` -> `"0.13"`, `"-0.125"` -> `"-0.13"`), the rule of
 *   PostgreSQL's `round(numeric, n)`, so an amount rounded here and one rounded in SQL agree. Banker's
 *   rounding would bias less over millions of entries, but each commission is rounded once and
 *   statements must match what an affiliate can recompute by hand.
 *
 * Pure and workflow-safe.
 */

/** Decimals an input may carry, and the scale of `numeric(28, 8)`. */
export const MAX_SCALE = 8;

/** A decimal string such as `"50.00"`; see the module comment for what is accepted. */
export type Decimal = string;

const DECIMAL_PATTERN = /^(-)?(\d+)(?:\.(\d+))?$/;

interface Scaled {
  /** The value times 10^scale. */
  units: bigint;
  scale: number;
}

const TEN = 10n;
const ZERO = 0n;
const ONE = 1n;
const TWO = 2n;

function pow10(n: number): bigint {
  return TEN ** BigInt(n);
}

function parse(text: Decimal): Scaled {
  const match = typeof text === 'string' ? DECIMAL_PATTERN.exec(text) : null;
  const fraction = match?.[3] ?? '';
  if (!match || fraction.length > MAX_SCALE) {
    throw new RangeError(
      `Invalid decimal ${JSON.stringify(text)}: expected digits with at most ${MAX_SCALE} decimals, such as "50.00"`,
    );
  }
  const magnitude = BigInt(`${match[2]}${fraction}`);
  return { units: match[1] ? -magnitude : magnitude, scale: fraction.length };
}

function render({ units, scale }: Scaled): Decimal {
  const negative = units < ZERO;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const text = scale > 0 ? `${whole}.${digits.slice(digits.length - scale)}` : whole;
  return negative ? `-${text}` : text;
}

function rescale(units: bigint, from: number, to: number): bigint {
  if (to >= from) return units * pow10(to - from);
  const divisor = pow10(from - to);
  const quotient = units / divisor; // BigInt division truncates toward zero
  const remainder = units % divisor; // and the remainder takes the dividend's sign
  const twice = (remainder < ZERO ? -remainder : remainder) * TWO;
  if (twice < divisor) return quotient;
  return units < ZERO ? quotient - ONE : quotient + ONE;
}

function checkDecimals(decimals: number): void {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > MAX_SCALE) {
    throw new RangeError(`decimals must be a whole number from 0 to ${MAX_SCALE}, not ${decimals}`);
  }
}

function aligned(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const x = parse(a);
  const y = parse(b);
  const scale = Math.max(x.scale, y.scale);
  return [rescale(x.units, x.scale, scale), rescale(y.units, y.scale, scale), scale];
}

/** Whether the value is a decimal string these functions accept. */
export function isDecimal(value: unknown): value is Decimal {
  if (typeof value !== 'string') return false;
  const match = DECIMAL_PATTERN.exec(value);
  return match !== null && (match[3] ?? '').length <= MAX_SCALE;
}

/** a + b, exact. */
export function add(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = aligned(a, b);
  return render({ units: x + y, scale });
}

/** a - b, exact. */
export function sub(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = aligned(a, b);
  return render({ units: x - y, scale });
}

/** -a, exact; zero stays unsigned. */
export function neg(a: Decimal): Decimal {
  const x = parse(a);
  return render({ units: -x.units, scale: x.scale });
}

/** The sum of the values, exact; `"0"` for none. */
export function sum(values: readonly Decimal[]): Decimal {
  return values.reduce((total, v) => add(total, v), '0');
}

/** a × b, rounded once (half away from zero) to `decimals` places. */
export function mul(a: Decimal, b: Decimal, decimals: number = MAX_SCALE): Decimal {
  checkDecimals(decimals);
  const x = parse(a);
  const y = parse(b);
  return render({ units: rescale(x.units * y.units, x.scale + y.scale, decimals), scale: decimals });
}

/** `percent`% of `amount` (amount × percent / 100), rounded once to `decimals` places. */
export function percentOf(amount: Decimal, percent: Decimal, decimals: number = MAX_SCALE): Decimal {
  return sumOfPercents([{ amount, percent }], decimals);
}

/**
 * Σ amountᵢ × percentᵢ / 100, computed exactly and rounded once to `decimals` places: a tiered
 * commission is one amount however many tiers it spans, with no rounding carried from tier to tier.
 */
export function sumOfPercents(
  parts: readonly { amount: Decimal; percent: Decimal }[],
  decimals: number = MAX_SCALE,
): Decimal {
  checkDecimals(decimals);
  // Every product is brought to 2 × MAX_SCALE decimals; dividing by 100 adds two more.
  const exactScale = 2 * MAX_SCALE + 2;
  let total = ZERO;
  for (const { amount, percent } of parts) {
    const x = parse(amount);
    const y = parse(percent);
    total += rescale(x.units * y.units, x.scale + y.scale + 2, exactScale);
  }
  return render({ units: rescale(total, exactScale, decimals), scale: decimals });
}

/**
 * Σ aᵢ × bᵢ, computed exactly and rounded once to `decimals` places: a day's lots over several
 * instruments, each at its own amount per lot, is one amount with no rounding carried between them.
 */
export function sumOfProducts(
  parts: readonly { a: Decimal; b: Decimal }[],
  decimals: number = MAX_SCALE,
): Decimal {
  checkDecimals(decimals);
  const exactScale = 2 * MAX_SCALE;
  let total = ZERO;
  for (const { a, b } of parts) {
    const x = parse(a);
    const y = parse(b);
    total += rescale(x.units * y.units, x.scale + y.scale, exactScale);
  }
  return render({ units: rescale(total, exactScale, decimals), scale: decimals });
}

/** -1, 0 or 1 as a is less than, equal to or greater than b (whatever their decimals). */
export function compare(a: Decimal, b: Decimal): -1 | 0 | 1 {
  const [x, y] = aligned(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function isZero(a: Decimal): boolean {
  return parse(a).units === ZERO;
}

export function isNegative(a: Decimal): boolean {
  return parse(a).units < ZERO;
}

export function isPositive(a: Decimal): boolean {
  return parse(a).units > ZERO;
}

export function min(a: Decimal, b: Decimal): Decimal {
  return compare(a, b) <= 0 ? a : b;
}

export function max(a: Decimal, b: Decimal): Decimal {
  return compare(a, b) >= 0 ? a : b;
}

/** The value rounded half away from zero to exactly `decimals` places (`round("2.5", 0)` is `"3"`). */
export function round(a: Decimal, decimals: number): Decimal {
  checkDecimals(decimals);
  const x = parse(a);
  return render({ units: rescale(x.units, x.scale, decimals), scale: decimals });
}

/** The value with trailing fractional zeros removed: `"1.500"` -> `"1.5"`, `"-0.00"` -> `"0"`. */
export function normalize(a: Decimal): Decimal {
  const x = parse(a);
  let { units, scale } = x;
  while (scale > 0 && units % TEN === ZERO) {
    units /= TEN;
    scale -= 1;
  }
  return render({ units, scale });
}

/** ISO 4217 currencies whose minor unit is not the cent. */
const MINOR_UNIT_EXCEPTIONS: Readonly<Record<string, number>> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
};

/** Decimals of the currency's minor unit: 2 unless ISO 4217 says otherwise (JPY 0, KWD 3). */
export function minorUnits(currency: string): number {
  return MINOR_UNIT_EXCEPTIONS[currency] ?? 2;
}

/** The amount rounded (half away from zero) to the currency's minor unit: what a commission is booked at. */
export function roundMoney(amount: Decimal, currency: string): Decimal {
  return round(amount, minorUnits(currency));
}

/**
 * The amount as the API shows it: at least the currency's minor digits, more only when the value has
 * them, never rounded. `"50.00000000"` (as `numeric(28, 8)` returns it) EUR is `"50.00"`.
 */
export function format(amount: Decimal, currency: string): Decimal {
  const minor = minorUnits(currency);
  const x = parse(normalize(amount));
  return x.scale >= minor ? render(x) : render({ units: rescale(x.units, x.scale, minor), scale: minor });
}
