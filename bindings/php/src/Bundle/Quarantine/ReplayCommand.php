<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Quarantine;

use Incwo\Connector\Bundle\MetricsStore;
use Incwo\Connector\Connector;
use Incwo\Connector\Quarantine\Quarantine;
use Incwo\Connector\ScaleOut\RecordProcessor;
use Symfony\Component\Console\Attribute\AsCommand;
use Symfony\Component\Console\Command\Command;
use Symfony\Component\Console\Helper\ProgressBar;
use Symfony\Component\Console\Input\InputArgument;
use Symfony\Component\Console\Input\InputInterface;
use Symfony\Component\Console\Input\InputOption;
use Symfony\Component\Console\Output\OutputInterface;

/**
 * `incwo:quarantine:replay ID…|--all-matching --record FILE|--batch FILE`:
 * replays entries after a fix through the normal flow (the Connector, its
 * HttpClient and state store: ledger and reconcile-before-create, so a
 * replay never creates twice) with the flow option `manualReplay`
 * (`replay_total{reason="manual"}`), a progress bar on stderr, then settles
 * each entry whose record synced (`quarantine.settle`). The lines sent are
 * the core's (`quarantine.replay_batch`: only open entries, a bare record
 * takes its entry's kind, a batch must hold each entry's line); its refusal
 * is a usage error (exit 2, with its code and hint). With scale-out,
 * each record goes through the {@see RecordProcessor} (the shared ledger)
 * instead. Prints
 * `{replayed, stillOpen, summary, requests, metrics}` as JSON; exits 1
 * when an entry stays open.
 */
#[AsCommand(name: 'incwo:quarantine:replay', description: 'Replay quarantined records after a fix, through the normal flow')]
final class ReplayCommand extends Command
{
    protected static $defaultName = 'incwo:quarantine:replay';

    protected static $defaultDescription = 'Replay quarantined records after a fix, through the normal flow';

    /** @param RecordProcessor|null $processor with scale-out: replays go through the shared ledger, as a worker runs them */
    public function __construct(
        private readonly Connector $connector,
        private readonly Quarantine $quarantine,
        private readonly MetricsStore $metrics,
        private readonly ?RecordProcessor $processor = null,
    ) {
        parent::__construct();
    }

    protected function configure(): void
    {
        $this->setDescription((string) self::$defaultDescription)
            ->addArgument('ids', InputArgument::IS_ARRAY, 'the entries\' ids (or --all-matching)')
            ->addOption('all-matching', null, InputOption::VALUE_NONE, 'replay every open entry matching the filters instead of ids')
            ->addOption('record', null, InputOption::VALUE_REQUIRED, 'the fixed record: its JSON (one id), or {"kind", "record"} lines')
            ->addOption('batch', null, InputOption::VALUE_REQUIRED, 'the original (or fixed) batch: the entries\' lines are taken from it')
            ->addOption('checkpoint-key', null, InputOption::VALUE_REQUIRED, 'the state the replay runs on: with a file store, the key of the sync that quarantined the records (its ledger); a PDO store shares its ledger across keys', 'quarantine-replay');
        Options::addFilters($this);
    }

    protected function execute(InputInterface $input, OutputInterface $output): int
    {
        return Options::run($output, function () use ($input, $output): int {
            $record = $input->getOption('record');
            $batch = $input->getOption('batch');
            if (($record === null) === ($batch === null)) {
                throw new \InvalidArgumentException('give the fixed record (--record FILE) or the batch to take the lines from (--batch FILE), one of them');
            }
            $entries = $this->entries($input);
            if ($entries === []) {
                $output->writeln('no open quarantined record matches; nothing replayed');

                return Command::SUCCESS;
            }
            $jsonl = $this->quarantine->replayBatch(
                $entries,
                record: $record !== null ? self::read((string) $record) : null,
                jsonl: $batch !== null ? self::read((string) $batch) : null,
            );
            $lines = count(array_filter(explode("\n", $jsonl), static fn (string $l): bool => trim($l) !== ''));

            $progress = new ProgressBar(Options::errors($output), $lines);
            $progress->start();
            $run = $this->processor !== null ? $this->viaWorkers($jsonl, $progress) : $this->viaConnector($jsonl, (string) $input->getOption('checkpoint-key'), $progress);
            $progress->finish();
            Options::errors($output)->writeln('');
            $this->metrics->add($run['metrics']);
            $done = $run['done'];

            $replayed = [];
            foreach ($done as $action) {
                $settled = $this->quarantine->settle($entries, $action);
                if ($settled !== null && $settled['state'] === 'replayed') {
                    $replayed[] = $settled['id'];
                }
            }
            $open = array_values(array_diff(array_column($entries, 'id'), $replayed));
            $output->writeln(json_encode([
                'replayed' => $replayed,
                'stillOpen' => $open,
                'summary' => $run['summary'],
                'requests' => (object) $run['requests'],
                'metrics' => array_values(array_filter(explode("\n", $run['metrics']), static fn (string $l): bool => str_starts_with($l, 'replay_total{'))),
            ], JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR));

            return $open === [] ? Command::SUCCESS : Command::FAILURE;
        });
    }

    /**
     * Replays the lines as one run of the Connector on the state of `$key`.
     *
     * @return array{done: list<array<string, mixed>>, summary: array<string, mixed>, requests: array<string, int>, metrics: string}
     */
    private function viaConnector(string $jsonl, string $key, ProgressBar $progress): array
    {
        $done = [];
        $result = $this->connector->withOptions(['manualReplay' => true])->sync($jsonl, $key, onAction: static function (array $action) use ($progress, &$done): void {
            if (($action['action'] ?? '') === 'recordDone') {
                $done[] = $action;
                $progress->advance();
            }
        });

        return ['done' => $done, 'summary' => $result->counts(), 'requests' => $result->log->requests, 'metrics' => $result->metrics];
    }

    /**
     * With scale-out, replays each line as a worker would (the shared
     * ledger, its customer's gate), one after the other; a record that must
     * wait stays open (replay it again later).
     *
     * @return array{done: list<array<string, mixed>>, summary: array<string, mixed>, requests: array<string, int>, metrics: string}
     */
    private function viaWorkers(string $jsonl, ProgressBar $progress): array
    {
        $processor = $this->processor->withOptions(['manualReplay' => true]);
        $core = $this->connector->core();
        $run = ['done' => [], 'summary' => ['total' => 0], 'requests' => ['total' => 0], 'metrics' => ''];
        foreach (array_filter(explode("\n", $jsonl), static fn (string $l): bool => trim($l) !== '') as $line) {
            $record = json_decode($line, true);
            if (!is_array($record)) {
                throw new \InvalidArgumentException('a line of the replay is not a {"kind", "record"} JSON object: ' . substr($line, 0, 80));
            }
            $result = $processor->process($record);
            $run['summary']['total']++;
            $run['summary'][$result->status] = ($run['summary'][$result->status] ?? 0) + 1;
            $run['requests']['total'] += $result->requests;
            if ($result->metrics !== '') {
                $run['metrics'] = (string) $core->call('telemetry.accumulate', ['total' => $run['metrics'] === '' ? null : $run['metrics'], 'run' => $result->metrics])['text'];
            }
            if ($result->done !== null) {
                $run['done'][] = $result->done;
            }
            $progress->advance();
        }

        return $run;
    }

    /**
     * The entries to replay: by id (the core refuses one not open), or every
     * open one matching the filters.
     *
     * @return list<array<string, mixed>>
     */
    private function entries(InputInterface $input): array
    {
        $ids = (array) $input->getArgument('ids');
        if ($input->getOption('all-matching')) {
            if ($ids !== []) {
                throw new \InvalidArgumentException('give ids or --all-matching, not both');
            }

            return $this->quarantine->list(['state' => 'open'] + Options::filter($input), Options::retention($input));
        }
        if ($ids === []) {
            throw new \InvalidArgumentException('name the entries to replay (ids from incwo:quarantine:list), or --all-matching with filters');
        }
        return array_map(fn ($id): array => $this->quarantine->get((string) $id), array_values($ids));
    }

    private static function read(string $path): string
    {
        $text = @file_get_contents($path);
        if ($text === false) {
            throw new \InvalidArgumentException("cannot read {$path}");
        }

        return $text;
    }
}
