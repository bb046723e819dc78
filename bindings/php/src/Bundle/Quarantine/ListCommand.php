<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Quarantine;

use Incwo\Connector\Quarantine\Quarantine;
use Symfony\Component\Console\Attribute\AsCommand;
use Symfony\Component\Console\Command\Command;
use Symfony\Component\Console\Helper\Table;
use Symfony\Component\Console\Input\InputInterface;
use Symfony\Component\Console\Input\InputOption;
use Symfony\Component\Console\Output\OutputInterface;

/**
 * `incwo:quarantine:list`: the quarantined records (open ones unless
 * --status says otherwise), oldest first, as a table or `--json`
 * (`{"entries": [...]}`, the entries as stored); entries past their
 * retention are deleted first.
 */
#[AsCommand(name: 'incwo:quarantine:list', description: 'List quarantined records, oldest first')]
final class ListCommand extends Command
{
    protected static $defaultName = 'incwo:quarantine:list';

    protected static $defaultDescription = 'List quarantined records, oldest first';

    public function __construct(private readonly Quarantine $quarantine)
    {
        parent::__construct();
    }

    protected function configure(): void
    {
        $this->setDescription((string) self::$defaultDescription)
            ->addOption('json', null, InputOption::VALUE_NONE, 'print {"entries": [...]} as JSON instead of a table');
        Options::addFilters($this);
    }

    protected function execute(InputInterface $input, OutputInterface $output): int
    {
        return Options::run($output, function () use ($input, $output): int {
            $entries = $this->quarantine->list(Options::filter($input), Options::retention($input));
            if ($input->getOption('json')) {
                $output->writeln(json_encode(['entries' => $entries], JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR));

                return Command::SUCCESS;
            }
            if ($entries === []) {
                $output->writeln('no quarantined record matches');

                return Command::SUCCESS;
            }
            $table = new Table($output);
            $table->setStyle('compact');
            $table->setHeaders(['ID', 'STATE', 'CODE', 'CLASS', 'KIND', 'EXTERNAL ID', 'FIRST SEEN', 'ATTEMPTS']);
            foreach ($entries as $e) {
                $table->addRow([
                    $e['id'], $e['state'], $e['error']['code'] ?? '', $e['error']['class'] ?? '', $e['kind'] ?? '-',
                    $e['externalId'] ?? "(line {$e['line']})", Options::time((int) $e['firstSeen']), (string) $e['attempts'],
                ]);
            }
            $table->render();
            $output->writeln(count($entries) . ' record(s)');

            return Command::SUCCESS;
        });
    }
}
