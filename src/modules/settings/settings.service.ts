import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { InstanceSetting } from 'src/modules/settings/instance-setting.entity';

export enum SignupMode {
  Open = 'open',
  Closed = 'closed',
}

/** The typed view of `instance_settings`; keys absent from the table take these defaults. */
export interface InstanceSettings {
  signupMode: SignupMode;
}

const DEFAULTS: InstanceSettings = { signupMode: SignupMode.Open };

@Injectable()
export class SettingsService {
  constructor(@InjectRepository(InstanceSetting) private readonly settings: Repository<InstanceSetting>) {}

  async get(): Promise<InstanceSettings> {
    const rows = await this.settings.find();
    const stored = Object.fromEntries(rows.map((row) => [row.key, row.value])) as Partial<InstanceSettings>;
    return { ...DEFAULTS, ...stored };
  }

  async update(changes: Partial<InstanceSettings>): Promise<InstanceSettings> {
    const entries = Object.entries(changes).filter(([, value]) => value !== undefined);
    if (entries.length > 0)
      await this.settings.upsert(
        entries.map(([key, value]) => ({ key, value })),
        ['key'],
      );
    return this.get();
  }
}
