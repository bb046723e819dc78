<?php
// The PHP peers of the core's order path (see bench/README.md for the rules).
// SPDX-License-Identifier: MIT OR Apache-2.0
declare(strict_types=1);

namespace BenchPeers;

use Symfony\Component\Cache\Adapter\ArrayAdapter;
use Symfony\Component\PropertyInfo\Extractor\PhpDocExtractor;
use Symfony\Component\PropertyInfo\Extractor\ReflectionExtractor;
use Symfony\Component\PropertyInfo\PropertyInfoCacheExtractor;
use Symfony\Component\PropertyInfo\PropertyInfoExtractor;
use Symfony\Component\Serializer\Encoder\JsonEncoder;
use Symfony\Component\Serializer\Encoder\XmlEncoder;
use Symfony\Component\Serializer\NameConverter\CamelCaseToSnakeCaseNameConverter;
use Symfony\Component\Serializer\Normalizer\ArrayDenormalizer;
use Symfony\Component\Serializer\Normalizer\ObjectNormalizer;
use Symfony\Component\Serializer\Serializer;
use Symfony\Component\Validator\Constraints as Assert;
use Symfony\Component\Validator\Validation;
use Symfony\Component\Validator\Validator\ValidatorInterface;

/** The default profile's tables: tax code → [vat_value_id, rate]; currency → id. */
const TAXES = ['TVA20' => [607, '0.20'], 'TVA10' => [552, '0.10'], 'TVA5_5' => [223, '0.055'], 'TVA2_1' => [222, '0.021'], 'TVA0' => [225, '0']];
const CURRENCIES = ['EUR' => 58];
const ID = '/^[A-Za-z0-9._:\/-]{1,64}$/';
const PRICE = '/^\d+(\.\d{1,2})?$/';

final class OrderLineInput
{
    #[Assert\NotBlank, Assert\Regex(ID)]
    public string $sku = '';
    #[Assert\Positive, Assert\LessThanOrEqual(1000000)]
    public int $qty = 0;
    #[Assert\PositiveOrZero, Assert\LessThanOrEqual(999999999.99)]
    public float|int $unitPriceExclTax = -1;
    #[Assert\Choice(['TVA20', 'TVA10', 'TVA5_5', 'TVA2_1', 'TVA0'])]
    public string $taxCode = '';

    /** The price's decimal text (PHP reads JSON numbers as doubles). */
    #[Assert\Regex(PRICE)]
    public function getPriceText(): string
    {
        return (string) $this->unitPriceExclTax;
    }
}

final class OrderInput
{
    #[Assert\NotBlank, Assert\Length(max: 64), Assert\Regex(ID)]
    public string $orderNumber = '';
    #[Assert\NotBlank, Assert\Regex(ID)]
    public string $customerExternalId = '';
    #[Assert\NotBlank, Assert\Date, Assert\Regex('/^(20\d\d|2100)-/')]
    public string $orderDate = '';
    #[Assert\Choice(['EUR'])]
    public string $currency = '';
    /** @var OrderLineInput[] */
    #[Assert\Count(min: 1, max: 10000), Assert\Valid]
    public array $lines = [];
}

final class ProposalLine
{
    public function __construct(
        public string $description,
        public int $quantity,
        public string $unitPrice,
        public int $vatValueId,
        public string $totalPrice,
        public int $ordering,
    ) {
    }
}

final class ProposalSheet
{
    /** @param array{proposal_line: ProposalLine[]} $proposalLines */
    public function __construct(
        public string $sheetType,
        public string $title,
        public string $billingDate,
        public int $currencyId,
        public int $progressId,
        public string $vatExlTotal,
        public string $vatCost,
        public string $vatIncTotal,
        public array $proposalLines,
    ) {
    }
}

/** The services, built once (as a Symfony container would). */
final class Services
{
    public Serializer $serializer;
    public ValidatorInterface $validator;

    public function __construct()
    {
        $refl = new ReflectionExtractor();
        $phpDoc = new PhpDocExtractor();
        $info = new PropertyInfoCacheExtractor(
            new PropertyInfoExtractor([$refl], [$phpDoc, $refl], [$phpDoc], [$refl], [$refl]),
            new ArrayAdapter(0, false)
        );
        $this->serializer = new Serializer(
            [new ArrayDenormalizer(), new ObjectNormalizer(null, new CamelCaseToSnakeCaseNameConverter(), null, $info)],
            [new JsonEncoder(), new XmlEncoder()]
        );
        $this->validator = Validation::createValidatorBuilder()->enableAnnotationMapping(true)->getValidator();
    }
}

/** Half-up to 2 decimals of a non-negative product (bcmath). */
function round2(string $v): string
{
    return bcadd($v, '0.005', 2);
}

/** Totals: [line totals, excl, vat, incl]; lines as [sku, qty, price text, tax code]. */
function totals(array $lines): array
{
    $bases = [];
    $lineTotals = [];
    foreach ($lines as [$sku, $qty, $price, $code]) {
        $t = round2(bcmul((string) $qty, $price, 4));
        $lineTotals[] = $t;
        $bases[$code] = bcadd($bases[$code] ?? '0', $t, 2);
    }
    $excl = '0.00';
    $vat = '0.00';
    foreach ($bases as $code => $base) {
        $excl = bcadd($excl, $base, 2);
        $vat = bcadd($vat, round2(bcmul($base, TAXES[$code][1], 5)), 2);
    }
    return [$lineTotals, $excl, $vat, bcadd($excl, $vat, 2)];
}

function incwo_date(string $iso): string
{
    return substr($iso, 8, 2) . '-' . substr($iso, 5, 2) . '-' . substr($iso, 0, 4);
}

/** Symfony, objects: deserialize, validate, bcmath, serialize a DTO to XML. */
function sf_objects(Services $s, string $json): string
{
    /** @var OrderInput $o */
    $o = $s->serializer->deserialize($json, OrderInput::class, 'json');
    $violations = $s->validator->validate($o);
    if (count($violations) > 0) {
        throw new \InvalidArgumentException((string) $violations);
    }
    $lines = [];
    foreach ($o->lines as $l) {
        $lines[] = [$l->sku, $l->qty, (string) $l->unitPriceExclTax, $l->taxCode];
    }
    [$lineTotals, $excl, $vat, $incl] = totals($lines);
    $out = [];
    foreach ($lines as $i => [$sku, $qty, $price, $code]) {
        $out[] = new ProposalLine($sku, $qty, bcadd($price, '0', 2), TAXES[$code][0], $lineTotals[$i], ($i + 1) * 100);
    }
    $sheet = new ProposalSheet('order', $o->orderNumber, incwo_date($o->orderDate), CURRENCIES[$o->currency], 600001,
        $excl, $vat, $incl, ['proposal_line' => $out]);
    $xml = $s->serializer->serialize($sheet, 'xml', [
        'xml_root_node_name' => 'proposal_sheet',
        'xml_encoding' => 'UTF-8',
        'encoder_ignored_node_types' => [\XML_PI_NODE],
    ]);
    return rtrim($xml, "\n");
}

/** Plain PHP: json_decode, checks (first violation), bcmath, concatenation. */
function plain(string $json): string
{
    $o = json_decode($json, true, 512, JSON_THROW_ON_ERROR);
    $str = static fn ($v): bool => is_string($v) && preg_match(ID, $v) === 1;
    if (!is_array($o) || !$str($o['orderNumber'] ?? null) || !$str($o['customerExternalId'] ?? null)) {
        throw new \InvalidArgumentException('orderNumber / customerExternalId');
    }
    $d = $o['orderDate'] ?? null;
    if (!is_string($d) || preg_match('/^(\d{4})-(\d{2})-(\d{2})$/', $d, $m) !== 1
        || !checkdate((int) $m[2], (int) $m[3], (int) $m[1]) || (int) $m[1] < 2000 || (int) $m[1] > 2100) {
        throw new \InvalidArgumentException('orderDate');
    }
    $currency = CURRENCIES[$o['currency'] ?? ''] ?? throw new \InvalidArgumentException('currency');
    $in = $o['lines'] ?? null;
    if (!is_array($in) || !array_is_list($in) || count($in) === 0 || count($in) > 10000) {
        throw new \InvalidArgumentException('lines');
    }
    $lines = [];
    foreach ($in as $l) {
        $qty = $l['qty'] ?? null;
        $p = $l['unitPriceExclTax'] ?? null;
        $code = $l['taxCode'] ?? null;
        if (!$str($l['sku'] ?? null) || !is_int($qty) || $qty <= 0 || $qty > 1000000
            || !(is_int($p) || is_float($p)) || $p < 0 || $p > 999999999.99
            || preg_match(PRICE, $price = (string) $p) !== 1 || !isset(TAXES[$code])) {
            throw new \InvalidArgumentException('line');
        }
        $lines[] = [$l['sku'], $qty, $price, $code];
    }
    [$lineTotals, $excl, $vat, $incl] = totals($lines);
    $x = '<proposal_sheet><sheet_type>order</sheet_type><title>' . htmlspecialchars($o['orderNumber'], ENT_NOQUOTES)
        . '</title><billing_date>' . incwo_date($d) . '</billing_date><currency_id>' . $currency
        . '</currency_id><progress_id>600001</progress_id><vat_exl_total>' . $excl . '</vat_exl_total><vat_cost>'
        . $vat . '</vat_cost><vat_inc_total>' . $incl . '</vat_inc_total><proposal_lines>';
    foreach ($lines as $i => [$sku, $qty, $price, $code]) {
        $x .= '<proposal_line><description>' . htmlspecialchars($sku, ENT_NOQUOTES) . '</description><quantity>' . $qty
            . '</quantity><unit_price>' . bcadd($price, '0', 2) . '</unit_price><vat_value_id>' . TAXES[$code][0]
            . '</vat_value_id><total_price>' . $lineTotals[$i] . '</total_price><ordering>' . (($i + 1) * 100)
            . '</ordering></proposal_line>';
    }
    return $x . '</proposal_lines></proposal_sheet>';
}
