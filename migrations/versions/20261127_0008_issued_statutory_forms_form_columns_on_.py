"""issued statutory forms: form columns on dossier documents, number counters

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 15:52:31.047121

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('form_number_counter',
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('series', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_form_number_counter_agency_id_agency')),
    sa.PrimaryKeyConstraint('agency_id', 'series', 'year', name=op.f('pk_form_number_counter'))
    )
    with op.batch_alter_table('dossier_document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_key', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('form_circular', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('form_agency_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('form_series', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('form_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('form_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('form_content', sa.JSON(), nullable=True))
        batch_op.create_unique_constraint('uq_dossier_document_form_number', ['form_agency_id', 'form_series', 'form_year', 'form_seq'])
        batch_op.create_foreign_key(batch_op.f('fk_dossier_document_form_agency_id_agency'), 'agency', ['form_agency_id'], ['id'])



def downgrade():
    with op.batch_alter_table('dossier_document', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dossier_document_form_agency_id_agency'), type_='foreignkey')
        batch_op.drop_constraint('uq_dossier_document_form_number', type_='unique')
        batch_op.drop_column('form_content')
        batch_op.drop_column('form_seq')
        batch_op.drop_column('form_year')
        batch_op.drop_column('form_series')
        batch_op.drop_column('form_agency_id')
        batch_op.drop_column('form_circular')
        batch_op.drop_column('form_key')

    op.drop_table('form_number_counter')
