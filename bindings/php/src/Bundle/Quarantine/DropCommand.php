<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Quarantine;

use Incwo\Connector\Quarantine\Quarantine;
use Symfony\Component\Console\Attribute\AsCommand;
use Symfony\Component\Console\Command\Command;
use Symfony\Component\Console\Input\InputArgument;
use Symfony\Component\Console\Input\InputInterface;
use Symfony\Component\Console\Input\InputOption;
use Symfony\Component\Console\Output\OutputInterface;

/** `incwo:quarantine:drop ID… --reason "why"`: closes entries, kept with their (redacted) reason. */
#[AsCommand(name: 'incwo:quarantine:drop', description: 'Drop quarantined records with a reason (kept with the entry)')]
final class DropCommand extends Command
{
    protected static $defaultName = 'incwo:quarantine:drop';

    protected static $defaultDescription = 'Drop quarantined records with a reason (kept with the entry)';

    public function __construct(private readonly Quarantine $quarantine)
    {
        parent::__construct();
    }

    protected function configure(): void
    {
        $this->setDescription((string) self::$defaultDescription)
            ->addArgument('ids', InputArgument::REQUIRED | InputArgument::IS_ARRAY, 'the entries\' ids')
            ->addOption('reason', null, InputOption::VALUE_REQUIRED, 'why (kept with the entry, redacted like a log line)', '');
    }

    protected function execute(InputInterface $input, OutputInterface $output): int
    {
        return Options::run($output, function () use ($input, $output): int {
            foreach ((array) $input->getArgument('ids') as $id) {
                $entry = $this->quarantine->drop((string) $id, (string) $input->getOption('reason'));
                $output->writeln(sprintf('%s  dropped  %s', $entry['id'], $entry['dropReason'] ?? ''), OutputInterface::OUTPUT_PLAIN);
            }

            return Command::SUCCESS;
        });
    }
}
